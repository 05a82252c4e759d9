"""The first start (`make run`), the role groups, and production settings."""

import os
import secrets
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from core.roles import FINANCE, ROLE_PERMISSIONS, SHOP_STAFF, apply_role_permissions

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_migrations_create_the_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {SHOP_STAFF, FINANCE}


@pytest.mark.django_db
def test_role_permissions_are_granted_and_reapplying_adds_no_duplicate(monkeypatch):
    monkeypatch.setitem(ROLE_PERMISSIONS, FINANCE, ["auth.view_user", "nosuchapp.view_thing"])
    Group.objects.get(
        name=FINANCE
    ).permissions.clear()  # start from none: apps' migrations grant some
    apply_role_permissions(global_apps, None)
    apply_role_permissions(global_apps, None)
    finance = Group.objects.get(name=FINANCE)
    assert list(finance.permissions.values_list("codename", flat=True)) == ["view_user"]


@pytest.mark.django_db
def test_first_start_creates_the_admin_and_demo_team_and_prints_passwords_once():
    out = StringIO()
    call_command("prepare_instance", url="http://127.0.0.1:8000/", stdout=out)
    text = out.getvalue()
    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    password = text.split("user: admin")[1].split("password:")[1].split()[0]
    assert admin.check_password(password)
    assert User.objects.get(username="staff").groups.filter(name=SHOP_STAFF).exists()
    assert User.objects.get(username="finance").groups.filter(name=FINANCE).exists()
    assert "Open http://127.0.0.1:8000/" in text

    again = StringIO()
    call_command("prepare_instance", stdout=again)
    assert "password:" not in again.getvalue()  # no password is shown again
    assert User.objects.count() == 3


@pytest.mark.django_db
def test_demo_data_can_be_loaded_twice_without_duplicates():
    call_command("load_demo_data", stdout=StringIO())
    count = get_user_model().objects.count()
    call_command("load_demo_data", stdout=StringIO())
    assert get_user_model().objects.count() == count


def production_environment(tmp_path, **overrides):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS"))
    }
    env.update(
        DJANGO_DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="shop.example.com",
        DATABASE_URL="postgres://shop:secret@db.example.com:5432/shop",
        CELERY_BROKER_URL="redis://redis.example.com:6379/0",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
        VAR_DIR=str(tmp_path),
    )
    env.update(overrides)
    return env


def run_manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checklist_without_warnings(tmp_path):
    result = run_manage(
        production_environment(tmp_path), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = production_environment(tmp_path)
    del env["SECRET_KEY"]
    result = run_manage(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_offers_no_sandbox_payment_unless_told_to(tmp_path):
    script = "from django.conf import settings; print(settings.PAYMENT_GATEWAYS)"
    result = run_manage(production_environment(tmp_path), "shell", "--no-imports", "-c", script)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
    told = production_environment(tmp_path, PAYMENT_GATEWAYS="sandbox_card")
    answer = run_manage(told, "shell", "--no-imports", "-c", script).stdout.strip()
    assert answer.splitlines()[-1] == "['sandbox_card']"
