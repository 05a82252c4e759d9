from django.db import migrations

from core.roles import apply_role_permissions


class Migration(migrations.Migration):
    dependencies = [("buyers", "0014_sent_email_codes_unique")]

    operations = [migrations.RunPython(apply_role_permissions, migrations.RunPython.noop)]
