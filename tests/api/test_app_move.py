"""The API's models moved from the `site` app to `api` without moving data: an instance upgraded
from before keeps its API keys and the permissions groups were given on them."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from api.models import ApiKey

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("site", "0003_add_idempotent_request")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_an_upgraded_instance_keeps_its_api_keys_and_the_permissions_on_them():
    old = migrate(BEFORE)
    ContentType = old.get_model("contenttypes", "ContentType")
    old_type, _ = ContentType.objects.get_or_create(app_label="site", model="apikey")
    OldPermission = old.get_model("auth", "Permission")
    view, _ = OldPermission.objects.get_or_create(
        content_type=old_type, codename="view_apikey", defaults={"name": "Can view API key"}
    )
    group = old.get_model("auth", "Group").objects.create(name="Integrators")
    group.permissions.add(view)
    old.get_model("site", "ApiKey").objects.create(
        name="Storefront", prefix="ABCDEFGH", secret_hash="0" * 64
    )

    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())

    assert ApiKey.objects.get(prefix="ABCDEFGH").name == "Storefront"
    kept = Group.objects.get(name="Integrators").permissions.get()
    assert (kept.content_type.app_label, kept.codename) == ("api", "view_apikey")
    assert (
        Permission.objects.filter(content_type__app_label="site", codename="view_apikey").count()
        == 0
    )
