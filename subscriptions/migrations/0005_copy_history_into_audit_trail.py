"""The catalog's change history (django-simple-history's tables) copied into the audit trail,
which every History panel reads from now on: nothing recorded before is lost. Each copied entry
names its source row in `request_id` ("simple-history:<model>:<history id>"), so running it again copies
nothing twice. The historical tables stay as they are."""

from decimal import Decimal

from django.db import migrations

from core.money import format_amount

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
SKIPPED = {"id", "updated_at", "created_at"}
CHUNK = 2000


def _shown(value, currency):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format_amount(value, currency) if currency else str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def _values(record, fields):
    currency = getattr(record, "currency", None)
    return {name: _shown(getattr(record, attname), currency) for name, attname in fields}


def _source(history) -> str:
    """The copied row's table, short enough for request_id: "subscriptionpricingmodel"."""
    return history._meta.model_name.removeprefix("historical")


def _actor(record):
    user = record.history_user
    if user is None:
        return {"actor_kind": "system", "actor_id": "", "actor_label": "system"}
    return {"actor_kind": "staff", "actor_id": str(user.pk), "actor_label": user.username}


def _copy_rows(AuditEntry, records, make):
    done = set(
        AuditEntry.objects.filter(request_id__startswith="simple-history:").values_list(
            "request_id", flat=True
        )
    )
    batch = []
    for record in records:
        entry = make(record)
        if entry is None or entry.request_id in done:
            continue
        batch.append(entry)
        if len(batch) >= CHUNK:
            AuditEntry.objects.bulk_create(batch)
            batch = []
    if batch:
        AuditEntry.objects.bulk_create(batch)


def copy_history(apps, schema_editor):
    AuditEntry = apps.get_model("site", "AuditEntry")
    for model_name, kind in (("Subscription", "subscription"), ("PricingModel", "pricingmodel")):
        model = apps.get_model("subscriptions", model_name)
        history = apps.get_model("subscriptions", f"Historical{model_name}")
        fields = [
            (f.name, f.attname)
            for f in model._meta.concrete_fields
            if f.name not in SKIPPED and hasattr(history, f.attname)
        ]
        table = _source(history)
        previous = {}  # object id -> its last values seen

        def make(record, kind=kind, fields=fields, table=table, previous=previous):
            values = _values(record, fields)
            before = previous.get(record.id)
            previous[record.id] = values
            if record.history_type == "~" and before is not None:
                changes = {n: [before.get(n), v] for n, v in values.items() if before.get(n) != v}
            elif record.history_type == "+":
                changes = {n: [None, v] for n, v in values.items() if v not in (None, "")}
            else:
                changes = {}
            return AuditEntry(
                created_at=record.history_date,
                object_kind=kind,
                object_code=record.code or str(record.id),
                object_label=str(getattr(record, "name", "") or getattr(record, "title", ""))[:200],
                action=ACTIONS.get(record.history_type, record.history_type),
                changes=changes,
                request_id=f"simple-history:{table}:{record.history_id}",
                **_actor(record),
            )

        records = history.objects.select_related("history_user").order_by(
            "id", "history_date", "history_id"
        )
        _copy_rows(AuditEntry, records.iterator(chunk_size=CHUNK), make)

    Subscription = apps.get_model("subscriptions", "Subscription")
    codes = dict(Subscription.objects.values_list("pk", "code"))
    Media = apps.get_model("subscriptions", "Media")
    PricingModel = apps.get_model("subscriptions", "PricingModel")

    media = {m.pk: f"“{m.title}” ({m.code})" for m in Media.objects.all()}
    links = apps.get_model("subscriptions", "HistoricalSubscriptionMedia")

    def make_link(record):
        if record.history_type not in ("+", "-") or record.subscription_id not in codes:
            return None
        name = media.get(record.media_id, f"media #{record.media_id}")
        attached = record.history_type == "+"
        return AuditEntry(
            created_at=record.history_date,
            object_kind="subscription",
            object_code=codes[record.subscription_id],
            action="attached media" if attached else "detached media",
            changes={"media": [None, name] if attached else [name, None]},
            request_id=f"simple-history:{_source(links)}:{record.history_id}",
            **_actor(record),
        )

    _copy_rows(AuditEntry, links.objects.select_related("history_user").iterator(), make_link)

    pricing = {p.pk: f"{p.title} ({p.code})" for p in PricingModel.objects.all()}
    offers = apps.get_model("subscriptions", "HistoricalSubscriptionPricingModel")

    def make_offer(record):
        if record.subscription_id not in codes:
            return None
        name = pricing.get(record.pricing_model_id, f"pricing model #{record.pricing_model_id}")
        shown = f"{name}{' (default)' if record.is_default else ''}"
        action, changes = {
            "+": ("offered pricing model", [None, shown]),
            "-": ("withdrew pricing model", [shown, None]),
            "~": ("made default" if record.is_default else "changed offer", [None, shown]),
        }[record.history_type]
        return AuditEntry(
            created_at=record.history_date,
            object_kind="subscription",
            object_code=codes[record.subscription_id],
            action=action,
            changes={"pricing model": changes},
            request_id=f"simple-history:{_source(offers)}:{record.history_id}",
            **_actor(record),
        )

    _copy_rows(AuditEntry, offers.objects.select_related("history_user").iterator(), make_offer)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0004_coupon_rules_per_buyer"),
        ("site", "0007_audit_entry"),
    ]

    # The trail is append-only: going back leaves the copied entries where they are.
    operations = [migrations.RunPython(copy_history, migrations.RunPython.noop)]
