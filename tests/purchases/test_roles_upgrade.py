import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from core.roles import SHOP_STAFF

pytestmark = pytest.mark.django_db


def test_upgraded_shop_staff_lose_the_money_reports_permission():
    staff = Group.objects.get(name=SHOP_STAFF)
    money = Permission.objects.get(content_type__app_label="purchases", codename="view_refund")
    staff.permissions.add(money)  # as an instance migrated before the reports came had it
    migration = importlib.import_module(
        "purchases.migrations.0007_shop_staff_without_money_reports"
    )
    migration.take_money_reports_from_shop_staff(apps, None)
    assert not staff.permissions.filter(pk=money.pk).exists()


def test_admins_see_contracts_in_the_django_admin(admin_client):
    assert admin_client.get("/admin/purchases/recurringcontract/").status_code == 200
    assert admin_client.get("/admin/purchases/contracttransaction/").status_code == 200
