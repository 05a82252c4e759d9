from django.db import migrations

from core.roles import SHOP_STAFF

# Money reports are gated on purchases.view_refund; shop staff held it before the reports came.
MONEY_REPORTS = ("purchases", "view_refund")


def take_money_reports_from_shop_staff(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=SHOP_STAFF).first()
    permission = Permission.objects.filter(
        content_type__app_label=MONEY_REPORTS[0], codename=MONEY_REPORTS[1]
    ).first()
    if group is not None and permission is not None:
        group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [("purchases", "0006_contract_keeps_its_recurrence")]

    operations = [
        migrations.RunPython(take_money_reports_from_shop_staff, migrations.RunPython.noop)
    ]
