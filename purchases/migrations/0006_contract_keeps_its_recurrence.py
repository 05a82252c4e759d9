from django.db import migrations, models


def copy_recurrence(apps, schema_editor):
    RecurringContract = apps.get_model("purchases", "RecurringContract")
    for contract in RecurringContract.objects.select_related("pricing_model"):
        contract.recurrence_unit = contract.pricing_model.recurrence_unit or "months"
        contract.recurrence_count = contract.pricing_model.recurrence_count or 1
        contract.save(update_fields=["recurrence_unit", "recurrence_count"])


class Migration(migrations.Migration):
    dependencies = [("purchases", "0005_grant_contract_permissions")]

    operations = [
        migrations.AddField(
            model_name="recurringcontract",
            name="recurrence_unit",
            field=models.CharField(
                choices=[("days", "Days"), ("weeks", "Weeks"), ("months", "Months"), ("years", "Years")],
                default="months",
                max_length=6,
                verbose_name="renews every (unit)",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="recurringcontract",
            name="recurrence_count",
            field=models.PositiveSmallIntegerField(default=1, verbose_name="renews every (count)"),
        ),
        migrations.RunPython(copy_recurrence, migrations.RunPython.noop),
    ]
