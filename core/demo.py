"""Demo team members, so a new user can sign in as each role and see what it sees."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from .roles import FINANCE, SHOP_STAFF

DEMO_TEAM = [
    ("staff", "Sam", "Staff", SHOP_STAFF),
    ("finance", "Fran", "Finance", FINANCE),
]


def load(out):
    """Create one demo user per role with a random password, printed once to `out`."""
    User = get_user_model()
    for username, first_name, last_name, role in DEMO_TEAM:
        if User.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=username,
            password=password,
            first_name=first_name,
            last_name=last_name,
            email=f"{username}@example.com",
        )
        user.groups.add(Group.objects.get(name=role))
        out.write(f"  {role:<11} user: {username:<9} password: {password}")
