from django.db import migrations

from core.roles import apply_role_permissions


class Migration(migrations.Migration):
    dependencies = [("purchases", "0004_recurring_contracts")]

    operations = [migrations.RunPython(apply_role_permissions, migrations.RunPython.noop)]
