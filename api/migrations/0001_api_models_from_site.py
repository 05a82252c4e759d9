"""The API's models move from the `site` app to `api`; their tables keep their names, so no data
moves. On an existing database the content types (and so the permissions granted on them) are
renamed; on a new one `site` 0002/0003 create the tables and this only records the new owner."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MOVED = ("apikey", "idempotentrequest")


def move_content_types(apps, source, target):
    """Rename the models' content types from `source` to `target` app, so permissions granted on
    them stay granted; if a `target` one exists already, its permissions take the grants over."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    for model in MOVED:
        old = ContentType.objects.filter(app_label=source, model=model).first()
        if old is None:
            continue
        new = ContentType.objects.filter(app_label=target, model=model).first()
        if new is None:
            old.app_label = target
            old.save(update_fields=["app_label"])
            continue
        for permission in Permission.objects.filter(content_type=old):
            kept, _ = Permission.objects.get_or_create(
                content_type=new, codename=permission.codename, defaults={"name": permission.name}
            )
            for group in permission.group_set.all():
                group.permissions.add(kept)
            for user in permission.user_set.all():
                user.user_permissions.add(kept)
        old.delete()


def content_types_to_api(apps, schema_editor):
    move_content_types(apps, "site", "api")


def content_types_to_site(apps, schema_editor):
    move_content_types(apps, "api", "site")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("site", "0004_api_models_moved_to_api"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100, verbose_name="name")),
                        ("prefix", models.CharField(max_length=8, unique=True, verbose_name="key starts with")),
                        ("secret_hash", models.CharField(editable=False, max_length=64, unique=True, verbose_name="SHA-256 of the key")),
                        ("scopes", models.JSONField(default=list, verbose_name="scopes")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                        ("last_used_at", models.DateTimeField(blank=True, null=True, verbose_name="last used")),
                        ("revoked_at", models.DateTimeField(blank=True, null=True, verbose_name="revoked")),
                        ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="created by")),
                        ("revoked_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="revoked by")),
                    ],
                    options={
                        "verbose_name": "API key",
                        "verbose_name_plural": "API keys",
                        "ordering": ["-created_at"],
                        "db_table": "site_apikey",
                        "constraints": [models.CheckConstraint(condition=models.Q(("name", ""), _negated=True), name="api_key_name_not_empty")],
                    },
                ),
                migrations.CreateModel(
                    name="IdempotentRequest",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("key", models.CharField(max_length=255, verbose_name="Idempotency-Key")),
                        ("request_digest", models.CharField(max_length=64, verbose_name="request digest")),
                        ("status_code", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="answer status")),
                        ("body", models.TextField(blank=True, verbose_name="answer body")),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="first seen")),
                        ("api_key", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="api.apikey")),
                    ],
                    options={
                        "verbose_name": "idempotent request",
                        "db_table": "site_idempotentrequest",
                        "constraints": [models.UniqueConstraint(fields=("api_key", "key"), name="idempotency_key_once_per_key")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_api, content_types_to_site),
    ]
