# Its own migration: on PostgreSQL the rows 0013 filled must be committed before the index.
from django.db import migrations, models

import core.codes


class Migration(migrations.Migration):
    dependencies = [("buyers", "0013_fill_sent_email_codes_and_buyers")]

    operations = [
        migrations.AlterField(
            model_name="sentemail",
            name="code",
            field=models.CharField(
                default=core.codes.new_public_code,
                editable=False,
                max_length=8,
                unique=True,
                verbose_name="code",
            ),
        ),
    ]
