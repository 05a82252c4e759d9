"""The audit trail: every write through the services says who, when, what changed (before →
after), from where and why; it is append-only; admins and finance read it whole, staff see an
object's history on its page."""

import csv
import io
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.keys import create_api_key, revoke_api_key
from buyers import services as buyer_services
from core import audit
from core.models import AuditEntry, AuditTrailIsAppendOnly
from purchases.models import RecurringContract
from purchases.renewals import renew_due_contracts
from purchases.services.cancellations import cancel_purchase, refund_purchase
from purchases.services.checkout import create_purchase
from subscriptions import errors as catalog_errors
from subscriptions import services as catalog_services
from tests.buyers.factories import AccessFactory
from tests.factories import UserFactory
from tests.purchases.factories import BuyerFactory, offer_for_sale, wallet_buyer

pytestmark = pytest.mark.django_db


def entries(kind=None, action=None):
    found = AuditEntry.objects.order_by("pk")
    if kind:
        found = found.filter(object_kind=kind)
    if action:
        found = found.filter(action=action)
    return list(found)


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


# --- Who, what, from where ----------------------------------------------------------------


def test_a_staff_price_change_records_the_user_address_and_money_before_and_after(staff):
    pricing_model = catalog_services.create_pricing_model(
        title="Rental", price=Decimal("19.50"), currency="EUR"
    )
    response = staff.post(
        reverse("pricing_models:edit", args=[pricing_model.code]),
        {
            "title": "Rental",
            "price": "21.00",
            "currency": "EUR",
            "quality": "HD",
            "grant_all_devices": "on",
            "trial_days": "0",
        },
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    (changed,) = entries("pricingmodel", "changed")
    assert (changed.actor_kind, changed.actor_label) == ("staff", "staff-member")
    assert changed.address == "203.0.113.7" and changed.request_id
    assert changed.object_code == pricing_model.code
    assert changed.changes == {"price": ["19.50 EUR", "21.00 EUR"]}
    page = staff.get(reverse("pricing_models:detail", args=[pricing_model.code]))
    assert "price: 19.50 EUR → 21.00 EUR" in page.content.decode()


def test_a_wallet_adjustment_records_the_balance_before_and_after_and_the_reason(
    staff, finance_user
):
    buyer = wallet_buyer("10.00")
    with audit.acting_as(audit.staff_actor(finance_user, address="198.51.100.2")):
        buyer_services.adjust_wallet(
            buyer=buyer,
            amount=Decimal("-4.00"),
            currency="EUR",
            reason="Goodwill correction",
            created_by=finance_user,
        )
    adjusted = entries("buyer", "wallet adjustment")[-1]
    assert adjusted.changes == {"balance": ["10.00 EUR", "6.00 EUR"]}
    assert adjusted.reason == "Goodwill correction"
    assert (adjusted.actor_label, adjusted.address) == ("finance-member", "198.51.100.2")


def test_access_grant_change_password_reset_and_revoke_are_each_recorded(staff_user):
    access = AccessFactory()
    actor = audit.staff_actor(staff_user, address="192.0.2.1")
    with audit.acting_as(actor):
        buyer_services.update_access(access=access, activation_limit=9)
        buyer_services.reset_access_password(access=access)
        buyer_services.revoke_access(access=access, revoked_by=staff_user)
    changed, reset, revoked = entries("access")[-3:]
    assert changed.action == "changed" and changed.changes["activation_limit"][1] == 9
    # The password changed, and neither the old nor the new one is in the trail.
    assert reset.action == "reset password" and reset.changes == {"hash": ["••••", "••••"]}
    assert revoked.action == "revoked" and revoked.changes["revoked_by"] == [
        None,
        str(staff_user.pk),
    ]
    assert {entry.actor_label for entry in (changed, reset, revoked)} == {"staff-member"}


def test_a_purchase_its_access_contract_and_refund_are_recorded_with_their_actor(finance_user):
    subscription, pricing_model = offer_for_sale(price="30.00", recurring=True)
    buyer = wallet_buyer("100.00")
    with audit.acting_as(audit.staff_actor(finance_user)):
        purchase = create_purchase(
            buyer=buyer,
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type="wallet",
            staff_user=finance_user,
        )
        refund_purchase(
            purchase=purchase, amount="5.00", reason="Late stream", staff_user=finance_user
        )
        cancel_purchase(purchase=purchase, mode="now", staff_user=finance_user)
    actions = [(e.object_kind, e.action) for e in entries() if e.object_kind != "user"]
    assert ("purchase", "completed") in actions
    assert ("access", "granted") in actions and ("recurringcontract", "started") in actions
    assert ("buyer", "wallet purchase") in actions and ("access", "revoked") in actions
    completed = entries("purchase", "completed")[0]
    assert completed.changes == {"status": ["pending", "completed"], "amount": [None, "30.00 EUR"]}
    refunded = entries("purchase", "refunded")[0]
    assert refunded.changes == {"refund": [None, "5.00 EUR"]} and refunded.reason == "Late stream"
    (cancelled,) = [e for e in entries("purchase") if e.action.startswith("cancelled")]
    assert cancelled.changes == {"status": ["completed", "cancelled"]}
    assert {e.actor_label for e in entries("purchase")} == {"finance-member"}


def test_an_api_key_is_the_actor_of_what_its_requests_write(client):
    key = create_api_key(name="Storefront", scopes=["ppv", "buyers"]).key
    pricing_model = catalog_services.create_pricing_model(title="PPV", price="5.00", currency="EUR")
    subscription = catalog_services.create_subscription(
        name="Concert", scope="group", period=7, pricing_models=[pricing_model]
    )
    media = catalog_services.create_media(title="Encore", status="done")
    catalog_services.attach_media(subscription=subscription, media=media)
    response = client.get(
        "/api/ppv/addbuyer",
        {
            "apikey": key,
            "format": "json",
            "code": subscription.code,
            "media": media.code,
            "email": "ann@example.com",
        },
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.json()["Status"] == "Success", response.content
    granted = entries("access", "granted")[-1]
    assert granted.actor_kind == "api_key" and granted.actor_label.startswith("Storefront")
    assert granted.address == "203.0.113.9"
    # The key's request ended: what the process writes next is no longer the key's.
    catalog_services.update_subscription(subscription=subscription, name="Concert II")
    assert entries("subscription", "changed")[-1].actor_kind == "system"


def test_a_renewal_job_is_the_actor_and_a_batch_is_written_in_one_insert():
    contracts = []
    for _ in range(3):
        subscription, pricing_model = offer_for_sale(price="10.00", recurring=True)
        purchase = create_purchase(
            buyer=BuyerFactory(),
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type="sandbox_card",
            instrument="tok_approve",
        )
        contracts.append(purchase.contract)
    due = max(contract.next_bill_date for contract in contracts)
    with CaptureQueriesContext(connection) as queries:
        run = renew_due_contracts(now=due)
    assert run.renewed == 3
    inserts = [q for q in queries.captured_queries if "INSERT INTO" in q["sql"]]
    inserts = [q for q in inserts if "site_auditentry" in q["sql"].split("(")[0]]
    assert len(inserts) == 1
    renewed = entries("recurringcontract", "renewed")
    assert {e.object_code for e in renewed} == {c.code for c in contracts}
    bills = {
        c.next_bill_date.astimezone(UTC).isoformat(timespec="seconds")
        for c in RecurringContract.objects.all()
    }
    assert {e.changes["next_bill_date"][1] for e in renewed} == bills
    assert {e.actor_kind for e in renewed} == {"system"}  # called directly, not by a task


def test_a_celery_task_names_itself_as_the_actor():
    seen = []
    from config.celery import app

    @app.task(name="tests.audit_actor_probe")
    def probe():
        seen.append(audit.current_actor())

    probe.delay()
    assert seen[0].kind == "job" and seen[0].id == "tests.audit_actor_probe"
    assert audit.current_actor().kind == "system"  # restored after the task


def test_users_and_groups_changes_are_recorded(admin_client):
    user = UserFactory(username="newbie")
    user.groups.add(Group.objects.get(name="Finance"))
    user.first_name = "Nia"
    user.save()
    user.groups.remove(Group.objects.get(name="Finance"))
    actions = [
        e.action
        for e in AuditEntry.objects.filter(object_kind="user", object_code=str(user.pk)).order_by(
            "pk"
        )
    ]
    assert actions == ["created", "added groups", "changed", "removed groups"]
    added = AuditEntry.objects.get(object_code=str(user.pk), action="added groups")
    assert added.changes == {"groups": [None, "Finance"]}
    user.set_password("a new one, long enough 42")
    user.save()
    mine = AuditEntry.objects.filter(object_kind="user", object_code=str(user.pk))
    changed = mine.filter(action="changed").order_by("pk").last()
    assert changed.changes == {"password": ["••••", "••••"]}
    # A sign-in (last_login) is no change anyone made: nothing recorded.
    from django.contrib.auth.models import update_last_login

    count = mine.count()
    update_last_login(None, user)
    assert mine.count() == count


# --- Nothing recorded for what did not happen --------------------------------------------


def test_a_refused_write_records_nothing():
    pricing_model = catalog_services.create_pricing_model(title="A", price="5.00", currency="EUR")
    before = AuditEntry.objects.count()
    with pytest.raises(catalog_errors.CatalogError):
        catalog_services.update_pricing_model(pricing_model=pricing_model, price=Decimal("-1"))
    assert AuditEntry.objects.count() == before


def test_a_rolled_back_write_records_nothing():
    buyer = BuyerFactory()
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        buyer_services.update_buyer(buyer=buyer, email=buyer.email, name="Someone else")
        assert AuditEntry.objects.count() == before + 1
        raise RuntimeError("the request failed after the change")
    assert AuditEntry.objects.count() == before


def test_saving_without_a_change_records_nothing():
    media = catalog_services.create_media(title="Encore")
    before = AuditEntry.objects.count()
    catalog_services.update_media(media=media, title="Encore")
    assert AuditEntry.objects.count() == before


# --- Append-only ---------------------------------------------------------------------------


def test_entries_cannot_be_changed_or_deleted():
    entry = audit.record("created", BuyerFactory())
    entry.reason = "rewritten"
    with pytest.raises(AuditTrailIsAppendOnly):
        entry.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_change_an_entry_even_in_sql():
    from django.db import DatabaseError

    entry = audit.record("created", BuyerFactory())
    for statement in ("UPDATE site_auditentry SET reason = 'x'", "DELETE FROM site_auditentry"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert AuditEntry.objects.filter(pk=entry.pk, reason="").exists()


def test_the_admin_shows_entries_and_offers_no_change_or_delete(admin_client):
    entry = audit.record("created", BuyerFactory())
    page = admin_client.get(reverse("admin:site_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    delete = admin_client.post(
        reverse("admin:site_auditentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


# --- The trail's page, its filters and exports ---------------------------------------------


@pytest.fixture
def trail(staff_user, finance_user):
    """Entries by two people, on two kinds of object, on two days."""
    buyer = BuyerFactory(name="Ann")
    media = catalog_services.create_media(title="Intro")
    with audit.acting_as(audit.staff_actor(staff_user, address="192.0.2.10")):
        buyer_services.update_buyer(buyer=buyer, email=buyer.email, name="Ann Lee")
    with audit.acting_as(audit.staff_actor(finance_user)):
        catalog_services.update_media(media=media, title="=HYPERLINK(1)")
    old = audit.entry(
        "changed",
        media,
        changes={"title": ["a", "b"]},
        reason="=SUM(A1)",
        when=timezone.now() - timedelta(days=40),
    )
    audit.record_many([old])
    return buyer, media


def rows_of(response):
    return [row.record for row in response.context["table"].page]


def test_the_trail_is_for_admins_and_finance_not_shop_staff(
    client, staff_user, finance_user, trail
):
    client.force_login(staff_user)
    assert client.get(reverse("audit_trail")).status_code == 403
    client.force_login(finance_user)
    assert client.get(reverse("audit_trail")).status_code == 200


def test_the_trail_filters_by_actor_object_kind_and_date(client, finance_user, trail):
    buyer, media = trail
    client.force_login(finance_user)
    url = reverse("audit_trail")
    by_staff = rows_of(client.get(url, {"actor": "staff-member"}))
    assert [(e.object_kind, e.object_code) for e in by_staff] == [("buyer", buyer.code)]
    media_rows = rows_of(client.get(url, {"object_kind": "media"}))
    assert {e.object_code for e in media_rows} == {media.code} and len(media_rows) == 3
    today = timezone.localdate().isoformat()
    recent = rows_of(client.get(url, {"object_kind": "media", "created_after": today}))
    assert len(recent) == 2


def test_bad_filters_get_a_message_not_an_error(client, finance_user, trail):
    client.force_login(finance_user)
    response = client.get(reverse("audit_trail"), {"created_after": "soon", "batch": "x\x00"})
    assert response.status_code == 200
    assert response.context["filter"].errors


def test_the_trail_pages_by_keyset_in_a_fixed_number_of_queries(
    client, finance_user, django_assert_max_num_queries
):
    buyer = BuyerFactory()
    audit.record_many([audit.entry("changed", buyer, changes={"n": [i, i + 1]}) for i in range(60)])
    client.force_login(finance_user)
    with django_assert_max_num_queries(12):
        first = client.get(reverse("audit_trail"), {"per_page": 25})
    page = first.context["table"].page
    assert len(page.object_list) == 25


def test_the_trail_exports_the_filtered_rows_as_csv_and_xlsx(client, finance_user, trail):
    buyer, media = trail
    client.force_login(finance_user)
    response = client.get(reverse("audit_trail"), {"object_kind": "media", "export": "csv"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][1:3] == ["Actor kind", "Actor"] and rows[0][0].startswith("When")
    assert len(rows) == 4  # the header and the three entries of the media
    assert [row[6] for row in rows if row[3] == "changed"][:1] == ["title: Intro → =HYPERLINK(1)"]
    # A cell that a spreadsheet would run as a formula is neutralised.
    assert "'=SUM(A1)" in [row[7] for row in rows]
    workbook = client.get(reverse("audit_trail"), {"object_kind": "media", "export": "xlsx"})
    assert workbook.status_code == 200


def test_staff_see_an_objects_history_on_its_page(staff, trail):
    buyer, media = trail
    page = staff.get(reverse("buyers:detail", args=[buyer.code]))
    html = page.content.decode()
    assert 'data-testid="audit-history"' in html
    assert "name: Ann → Ann Lee" in html and "192.0.2.10" in html
    # Shop staff have no trail permission: no link to it.
    assert reverse("audit_trail") not in html


def test_revoking_an_api_key_is_recorded_without_its_secret(staff_user):
    new = create_api_key(name="Old", scopes=["ppv"], created_by=staff_user)
    with audit.acting_as(audit.staff_actor(staff_user)):
        revoke_api_key(api_key=new.api_key, revoked_by=staff_user)
    created, revoked = entries("apikey")
    assert created.object_code == new.api_key.prefix
    assert new.key not in str(created.changes) and created.changes["secret_hash"] == [None, "••••"]
    assert revoked.action == "revoked" and revoked.actor_label == "staff-member"


# --- The catalog's history from before the trail -------------------------------------------


def test_the_catalogs_earlier_history_is_copied_into_the_trail_once(staff_user):
    import importlib

    from django.apps import apps

    copying = importlib.import_module("subscriptions.migrations.0005_copy_history_into_audit_trail")
    pricing_model = catalog_services.create_pricing_model(
        title="Rental", price=Decimal("19.50"), currency="EUR"
    )
    # A change simple-history recorded before the trail existed (no trail entry for it).
    pricing_model.price = Decimal("21.00")
    pricing_model._history_user = staff_user
    pricing_model.save()
    subscription = catalog_services.create_subscription(
        name="Concert", period=7, pricing_models=[pricing_model]
    )
    copying.copy_history(apps, None)
    copied = AuditEntry.objects.filter(request_id__startswith="simple-history:").order_by("pk")
    price_change = copied.get(object_kind="pricingmodel", action="changed")
    assert price_change.changes == {"price": ["19.50 EUR", "21.00 EUR"]}
    assert price_change.actor_label == "staff-member"
    assert copied.filter(object_code=subscription.code, action="offered pricing model").exists()
    count = copied.count()
    copying.copy_history(apps, None)
    assert copied.count() == count


def test_a_deleted_media_keeps_its_last_values_in_the_trail_and_a_refused_delete_none():
    media = catalog_services.create_media(title="Outtakes")
    code = media.code
    catalog_services.delete_media(media=media)
    (deleted,) = entries("media", "deleted")
    assert deleted.object_code == code and deleted.changes["title"] == ["Outtakes", None]
    held = catalog_services.create_media(title="Held")
    subscription, _ = offer_for_sale(scope="group")
    catalog_services.attach_media(subscription=subscription, media=held)
    with pytest.raises(catalog_errors.CatalogError):
        catalog_services.delete_media(media=held)
    assert len(entries("media", "deleted")) == 1


def test_a_checkout_writes_its_entries_in_one_insert():
    subscription, pricing_model = offer_for_sale(price="30.00", recurring=True)
    buyer = wallet_buyer("100.00")
    with CaptureQueriesContext(connection) as queries:
        create_purchase(
            buyer=buyer,
            subscription=subscription,
            pricing_model=pricing_model,
            payment_type="wallet",
        )
    inserts = [q for q in queries.captured_queries if "INSERT INTO" in q["sql"]]
    assert len([q for q in inserts if "site_auditentry" in q["sql"].split("(")[0]]) == 1
    kinds = {(e.object_kind, e.action) for e in entries()}
    assert {
        ("purchase", "completed"),
        ("access", "granted"),
        ("recurringcontract", "started"),
    } <= kinds
    assert ("buyer", "wallet purchase") in kinds


def test_a_buyer_acting_on_their_own_and_a_bulk_batch_are_named_in_the_trail(client, finance_user):
    buyer = BuyerFactory(name="Ann")
    with audit.acting_as(audit.Actor(kind="staff", label="x", address="192.0.2.3")):
        with audit.acting_as(audit.buyer_actor(buyer)):  # self-service, inside the request
            buyer_services.update_buyer(buyer=buyer, email=buyer.email, name="Ann B")
        with audit.in_batch() as batch:
            buyer_services.update_buyer(buyer=buyer, email=buyer.email, name="Ann C")
    by_buyer, in_batch = entries("buyer", "changed")
    assert (by_buyer.actor_kind, by_buyer.actor_id, by_buyer.address) == (
        "buyer",
        buyer.code,
        "192.0.2.3",
    )
    assert in_batch.batch == batch and by_buyer.batch is None
    client.force_login(finance_user)
    rows = rows_of(client.get(reverse("audit_trail"), {"batch": str(batch)}))
    assert [row.pk for row in rows] == [in_batch.pk]


def test_a_pause_and_its_resume_are_recorded_with_the_moved_bill_date(staff_user):
    from purchases.services.pauses import pause_contract, resume_contract
    from tests.purchases.test_renewals import subscribe

    contract = subscribe()
    start = timezone.now()
    with audit.acting_as(audit.staff_actor(staff_user)):
        pause_contract(contract=contract, periods=1, now=start, by=staff_user)
    resume_contract(contract=contract, automatically=True, now=start + timedelta(days=3))
    paused, resumed = [e for e in entries("recurringcontract") if e.action in ("paused", "resumed")]
    assert paused.changes["status"] == ["active", "paused"] and paused.actor_kind == "staff"
    assert resumed.changes["status"] == ["paused", "active"] and resumed.actor_kind == "system"
    before, after = resumed.changes["next_bill_date"]
    assert before < after  # moved on by the three days it was paused


def test_a_bulk_operations_entries_share_its_batch_and_its_undo_is_recorded(staff_user):
    import uuid

    from buyers import bulk

    access = AccessFactory()
    operation = bulk.start_operation(action="revoke", access_ids=[access.pk], started_by=staff_user)
    bulk.run_operation(operation.pk)
    (revoked,) = entries("access", "revoked")
    assert revoked.batch == uuid.uuid5(uuid.NAMESPACE_URL, f"bulk:{operation.code}")
    buyer_services.restore_access(access=access)
    assert entries("access", "restored")[0].changes["revoked_at"][1] is None


def test_a_buyer_stopping_through_self_service_is_the_actor(client):
    from buyers.self_service_links import make_token
    from tests.purchases.test_renewals import subscribe

    contract = subscribe()
    url = reverse("self_service:stop", kwargs={"token": make_token(contract.buyer)})
    client.post(url, {"contract": contract.code}, REMOTE_ADDR="198.51.100.9")
    (stopped,) = [e for e in entries("purchase") if e.action.startswith("cancelled")]
    assert (stopped.actor_kind, stopped.actor_id) == ("buyer", contract.buyer.code)
    assert stopped.address == "198.51.100.9"
