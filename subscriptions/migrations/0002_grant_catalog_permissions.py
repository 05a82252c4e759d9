from django.db import migrations

from core.roles import apply_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("site", "0001_create_roles"),
        ("subscriptions", "0001_catalog"),
    ]

    operations = [migrations.RunPython(apply_role_permissions, migrations.RunPython.noop)]
