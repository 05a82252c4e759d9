from django.db import migrations

from core.roles import apply_role_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("purchases", "0018_backfill_money_journal"),
        ("buyers", "0011_grant_wallet_limit_permission"),
    ]

    operations = [migrations.RunPython(apply_role_permissions, migrations.RunPython.noop)]
