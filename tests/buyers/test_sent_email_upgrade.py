"""E-mails sent before e-mails kept their bodies: after the upgrade each has its own code and
its access's buyer, and the pages show them (headers only: there is no body to resend)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from buyers.models import SentEmail

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("buyers", "0011_grant_wallet_limit_permission")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_emails_sent_before_the_upgrade_get_codes_and_their_buyers():
    old = migrate(BEFORE)
    Buyer = old.get_model("buyers", "Buyer")
    Subscription = old.get_model("subscriptions", "Subscription")
    Access = old.get_model("buyers", "Access")
    OldSentEmail = old.get_model("buyers", "SentEmail")
    buyer = Buyer.objects.create(code="BUYER001", email="ann@example.com")
    subscription = Subscription.objects.create(code="SUBSC001", name="Jazz", period=30)
    access = Access.objects.create(
        code="ACCESS01", hash="h" * 32, buyer=buyer, subscription=subscription
    )
    for n in range(5):
        OldSentEmail.objects.create(
            key=f"access_granted:{n}",
            kind="access_granted",
            access=access if n < 3 else None,
            to="ann@example.com",
            subject="Your access",
        )

    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())

    emails = list(SentEmail.objects.order_by("key"))
    assert len({email.code for email in emails}) == 5
    assert all(len(email.code) == 8 for email in emails)
    assert [email.buyer_id is not None for email in emails] == [True] * 3 + [False] * 2
    assert not any(email.has_bodies for email in emails)
