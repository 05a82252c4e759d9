import pytest
from django.contrib.auth.models import Group, Permission

from config.celery import app as celery_app
from core.roles import FINANCE, SHOP_STAFF

from .factories import UserFactory


@pytest.fixture(autouse=True, scope="session")
def celery_runs_tasks_inline():
    """Unit tests run Celery tasks in the calling thread; integration tests start real workers."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Hashing with PBKDF2's full work factor would make every test user cost ~100 ms."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user_without_role(db):
    return UserFactory()


@pytest.fixture
def staff_user(db):
    user = UserFactory(username="staff-member")
    user.groups.add(Group.objects.get(name=SHOP_STAFF))
    return user


@pytest.fixture
def finance_user(db):
    user = UserFactory(username="finance-member")
    user.groups.add(Group.objects.get(name=FINANCE))
    return user


@pytest.fixture
def user_with_perms(db):
    """Make a user holding exactly the given "app_label.codename" permissions."""

    def make(*perms, **fields):
        user = UserFactory(**fields)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return user

    return make
