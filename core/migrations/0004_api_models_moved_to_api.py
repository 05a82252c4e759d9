"""ApiKey and IdempotentRequest now belong to the `api` app: `site` forgets them without touching
the database, then `api` 0001 takes them over with their tables."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("site", "0003_add_idempotent_request"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="IdempotentRequest"),
                migrations.DeleteModel(name="ApiKey"),
            ],
            database_operations=[],
        ),
    ]
