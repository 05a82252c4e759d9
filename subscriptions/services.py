"""Every write to the catalog, with its rules: forms, the admin and (later) the API call these.

Each function takes keyword arguments, runs in one transaction and returns what it wrote, or
raises a `CatalogError` (see errors.py) before anything is written.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError, Q, RestrictedError
from django.utils import timezone

from core import audit
from core.codes import new_public_code
from core.errors import Refusals
from core.money import currency_codes, has_more_digits_than_currency, minor_digits, to_minor_units
from core.text import field_with_control_character

from . import errors
from .models import (
    Coupon,
    Media,
    PricingModel,
    ShopContacts,
    Subscription,
    SubscriptionMedia,
    SubscriptionPricingModel,
)

# --- Dates typed by staff ----------------------------------------------------------------------

# Reference 004: a date alone means 00:00:01 when access starts and 23:59:59 when it expires.
START_OF_DAY = time(0, 0, 1)
END_OF_DAY = time(23, 59, 59)


def shop_datetime(value: date | datetime | None, *, end_of_day: bool) -> datetime | None:
    """An aware datetime: a date alone is read in the shop's time zone at 00:00:01 (start) or
    23:59:59 (end); a naive date and time in the shop's time zone; an aware one is kept."""
    if value is None:
        return None
    shop_zone = ZoneInfo(settings.TIME_ZONE)
    if not isinstance(value, datetime):
        value = datetime.combine(value, END_OF_DAY if end_of_day else START_OF_DAY)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=shop_zone)
    return value


# --- Checks shared by several models ------------------------------------------------------------

_validate_url = URLValidator(schemes=["http", "https"])


def _check_required_text(instance, *fields: str, refusals: Refusals) -> None:
    for field in fields:
        value = (getattr(instance, field) or "").strip()
        setattr(instance, field, value)
        if not value:
            refusals.add(errors.FieldRequired(field=field))


def _check_control_characters(instance, *, refusals: Refusals) -> None:
    """One-line texts (names, titles: they become e-mail subjects) hold no control character."""
    field = field_with_control_character(instance)
    if field is not None:
        refusals.add(errors.ControlCharacter(field=field))


def _check_choices(
    instance, *fields: str, refusals: Refusals, allow_blank: Iterable[str] = ()
) -> None:
    for field in fields:
        value = getattr(instance, field)
        if value == "" and field in allow_blank:
            continue
        if value not in {choice for choice, _ in instance._meta.get_field(field).choices}:
            refusals.add(errors.InvalidChoice(field=field))


def _check_urls(instance, *fields: str, refusals: Refusals) -> None:
    for field in fields:
        value = (getattr(instance, field) or "").strip()
        setattr(instance, field, value)
        if value:
            try:
                _validate_url(value)
            except ValidationError:
                refusals.add(errors.InvalidUrl(field=field))


def _check_whole_numbers(instance, minimum_by_field: dict[str, int], *, refusals: Refusals) -> None:
    for field, minimum in minimum_by_field.items():
        value = getattr(instance, field)
        if value is not None and (not isinstance(value, int) or value < minimum):
            message = f"Enter a whole number of at least {minimum}."
            refusals.add(errors.NotANumberInRange(message, field=field))


def _apply(instance, allowed: Iterable[str], changes: dict) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields for {type(instance).__name__}: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(instance, field, value)


def _check_money(amount, currency: str, *, field: str) -> Decimal:
    try:
        amount = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise errors.FieldRequired("Enter an amount.", field=field) from None
    if not amount.is_finite():
        raise errors.FieldRequired("Enter an amount.", field=field)
    if amount < 0:
        raise errors.NegativeAmount(field=field)
    if has_more_digits_than_currency(amount, currency):
        digits = minor_digits(currency)
        raise errors.AmountTooPrecise(
            f"{currency} amounts have {digits} decimal place{'s' if digits != 1 else ''} at most.",
            field=field,
        )
    return amount


# --- Subscriptions ------------------------------------------------------------------------------

SUBSCRIPTION_FIELDS = (
    "name",
    "kind",
    "collection_type",
    "scope",
    "description",
    "materials",
    "period",
    "access_start",
    "access_expire",
    "activation",
    "buy_redirect_url",
    "custom_url",
    "ip_recovery",
    "device_ban",
    "buyer_commission",
    "drm",
    "downloadable_origin",
    "preview",
    "watermark",
    "watermark_email",
    "watermark_name",
    "watermark_ip",
    "sale_start",
    "sale_end",
    "stock",
    "provisioning_only",
    "mandatory",
)
DRM_ONLY_FIELDS = (
    "downloadable_origin",
    "preview",
    "watermark",
    "watermark_email",
    "watermark_name",
    "watermark_ip",
)


def _normalise_subscription_dates(subscription: Subscription) -> None:
    for field, end_of_day in (
        ("access_start", False),
        ("access_expire", True),
        ("sale_start", False),
        ("sale_end", True),
    ):
        value = shop_datetime(getattr(subscription, field), end_of_day=end_of_day)
        setattr(subscription, field, value)


def check_subscription(subscription: Subscription) -> None:
    """Raise every rule an unsaved subscription breaks, all at once (also used by the admin's
    form)."""
    if subscription.archived_at is not None:
        raise errors.SubscriptionArchived()
    refusals = Refusals(errors.CatalogRefusals)
    _normalise_subscription_dates(subscription)
    _check_required_text(subscription, "name", refusals=refusals)
    _check_control_characters(subscription, refusals=refusals)
    _check_choices(
        subscription,
        "kind",
        "scope",
        "collection_type",
        allow_blank=["collection_type"],
        refusals=refusals,
    )
    if subscription.collection_type and subscription.kind != Subscription.Kind.COLLECTION:
        refusals.add(errors.CollectionTypeOnlyForCollections())
    _check_whole_numbers(
        subscription,
        {"period": 1, "activation": 0, "preview": 0, "stock": 0},
        refusals=refusals,
    )
    if subscription.period is None and subscription.access_expire is None:
        refusals.add(errors.PeriodOrAccessExpireRequired())
    if (
        subscription.access_start
        and subscription.access_expire
        and subscription.access_start >= subscription.access_expire
    ):
        refusals.add(errors.AccessStartNotBeforeExpire())
    if (
        subscription.sale_start
        and subscription.sale_end
        and subscription.sale_start >= subscription.sale_end
    ):
        refusals.add(errors.SaleStartNotBeforeEnd())
    if not subscription.drm:
        for field in DRM_ONLY_FIELDS:
            value = getattr(subscription, field)
            if value is not None and value is not False:  # preview 0 is still a preview
                refusals.add(errors.DrmOptionWithoutDrm(field=field))
    _check_urls(subscription, "buy_redirect_url", "custom_url", refusals=refusals)
    if (
        subscription.mandatory
        and Subscription.objects.filter(mandatory=True).exclude(pk=subscription.pk).exists()
    ):
        refusals.add(errors.MandatorySubscriptionExists())
    if (
        subscription.pk
        and subscription.scope == Subscription.Scope.SINGLE
        and subscription.media_links.count() > 1
    ):
        refusals.add(
            errors.SingleSubscriptionHoldsOneMedia(
                "It holds several media: remove all but one before making it single.",
                field="scope",
            )
        )
    refusals.raise_any()


def _save_subscription(subscription: Subscription) -> None:
    try:
        with transaction.atomic():
            subscription.save()
    except IntegrityError:
        # Two people marking different subscriptions mandatory at once: the constraint decides.
        if subscription.mandatory:
            raise errors.MandatorySubscriptionExists() from None
        raise


def _set_offers(
    subscription: Subscription,
    pricing_models: Iterable[PricingModel],
    default_pricing_model: PricingModel | None,
) -> None:
    wanted = list(dict.fromkeys(pricing_models))
    if default_pricing_model is None and wanted:
        default_pricing_model = wanted[0]
    if default_pricing_model is not None and default_pricing_model not in wanted:
        raise errors.DefaultPricingModelNotOffered()
    # One row at a time, not queryset.update()/delete(): the history records each offer change.
    offers = {offer.pricing_model_id: offer for offer in subscription.offers.all()}
    wanted_ids = {pricing_model.pk for pricing_model in wanted}
    for pricing_model_id, offer in offers.items():
        if pricing_model_id not in wanted_ids:
            offer.delete()
            audit.record("withdrew pricing model", subscription, changes=_offer(offer, None))
        elif offer.is_default and offer.pricing_model_id != default_pricing_model.pk:
            offer.is_default = False
            offer.save()
    for pricing_model in wanted:
        is_default = pricing_model == default_pricing_model
        offer = offers.get(pricing_model.pk)
        if offer is None:
            offer = SubscriptionPricingModel.objects.create(
                subscription=subscription, pricing_model=pricing_model, is_default=is_default
            )
            audit.record("offered pricing model", subscription, changes=_offer(None, offer))
        elif offer.is_default != is_default:
            offer.is_default = is_default
            offer.save()
            if is_default:
                audit.record("made default", subscription, changes=_offer(None, offer))


def _offer(before, after) -> dict:
    """An offer's change in the audit trail: which pricing model, and whether default."""
    shown = [
        None
        if offer is None
        else f"{offer.pricing_model}{' (default)' if offer.is_default else ''}"
        for offer in (before, after)
    ]
    return {"pricing model": shown}


@transaction.atomic
def create_subscription(
    *,
    name: str,
    kind: str = Subscription.Kind.SUBSCRIPTION,
    pricing_models: Iterable[PricingModel] = (),
    default_pricing_model: PricingModel | None = None,
    **fields,
) -> Subscription:
    """A new subscription offering `pricing_models` (the first is the default unless one is
    named), after every rule of reference 004 `create` holds."""
    subscription = Subscription()
    _apply(subscription, SUBSCRIPTION_FIELDS, {"name": name, "kind": kind, **fields})
    check_subscription(subscription)
    pricing_models = list(pricing_models)
    if default_pricing_model is not None and default_pricing_model not in pricing_models:
        raise errors.DefaultPricingModelNotOffered()
    _save_subscription(subscription)
    audit.record("created", subscription)
    _set_offers(subscription, pricing_models, default_pricing_model)
    return subscription


@transaction.atomic
def update_subscription(
    *,
    subscription: Subscription,
    pricing_models: Iterable[PricingModel] | None = None,
    default_pricing_model: PricingModel | None = None,
    **changes,
) -> Subscription:
    """Change the given fields (and the offered pricing models when given); the same rules as
    create hold afterwards. An archived subscription is frozen."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.archived_at is not None:
        raise errors.SubscriptionArchived()
    before = audit.snapshot(subscription)
    _apply(subscription, SUBSCRIPTION_FIELDS, changes)
    check_subscription(subscription)
    _save_subscription(subscription)
    audit.record("changed", subscription, before=before)
    if pricing_models is not None:
        _set_offers(subscription, pricing_models, default_pricing_model)
    return subscription


@transaction.atomic
def set_subscription_price(
    *, subscription: Subscription, price: Decimal, currency: str
) -> PricingModel:
    """Sell the subscription at `price` from now on (reference 004 `update` with `cost`).

    The default pricing model takes the new price when only this subscription offers it; one
    shared with other subscriptions keeps its price for them, and a new pricing model at this
    price (in the shared one's currency) becomes this subscription's default. `currency` is for
    a subscription with no default pricing model yet. Answers the default pricing model."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.archived_at is not None:
        raise errors.SubscriptionArchived()
    offers = list(subscription.offers.select_related("pricing_model").order_by("-is_default", "pk"))
    default = next((offer.pricing_model for offer in offers if offer.is_default), None)
    if default is not None and not default.offers.exclude(subscription=subscription).exists():
        return update_pricing_model(pricing_model=default, price=price)
    new = create_pricing_model(
        title=subscription.name,
        price=price,
        currency=default.currency if default is not None else currency,
    )
    _set_offers(subscription, [new, *(offer.pricing_model for offer in offers)], new)
    return new


class DeletionOutcome(StrEnum):
    DELETED = "deleted"
    ARCHIVED = "archived"


# Reverse relations that are the catalog's own bookkeeping: they go with a deleted subscription.
# Any other relation (purchases, accesses, contracts: apps built on the catalog) is a record of a
# sale, and a subscription with one is archived instead, whatever app adds it later.
CATALOG_OWN_RELATIONS = {"media_links", "offers", "coupons"}


def records_keeping_subscription(subscription: Subscription) -> list[str]:
    """The kinds of record outside the catalog that refer to `subscription` (like "accesses")."""
    found = []
    for relation in Subscription._meta.related_objects:
        if relation.get_accessor_name() in CATALOG_OWN_RELATIONS:
            continue
        related = relation.related_model
        if related._base_manager.filter(**{relation.field.name: subscription}).exists():
            found.append(str(related._meta.verbose_name_plural))
    return found


@transaction.atomic
def delete_or_archive_subscription(*, subscription: Subscription) -> DeletionOutcome:
    """Delete a subscription nobody bought or was granted; archive (never delete) one that has
    purchases or accesses, so their history stays whole. An archived one is no longer mandatory."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if records_keeping_subscription(subscription):
        if subscription.archived_at is None:
            before = audit.snapshot(subscription, ("archived_at", "mandatory"))
            subscription.archived_at = timezone.now()
            subscription.mandatory = False
            subscription.save()
            audit.record("archived", subscription, before=before)
        return DeletionOutcome.ARCHIVED
    audit.record("deleted", subscription)
    subscription.delete()
    return DeletionOutcome.DELETED


@transaction.atomic
def attach_media(*, subscription: Subscription, media: Media) -> SubscriptionMedia:
    """Add `media` to `subscription` once; a single-media subscription holds at most one."""
    # Lock the subscription so two attaches to a single-media one cannot both pass the check.
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.archived_at is not None:
        raise errors.SubscriptionArchived(field="media")
    links = SubscriptionMedia.objects.filter(subscription=subscription)
    if links.filter(media=media).exists():
        raise errors.MediaAlreadyAttached(
            f"“{media.title}” ({media.code}) is already in this subscription.", field="media"
        )
    if subscription.scope == Subscription.Scope.SINGLE and links.exists():
        raise errors.SingleSubscriptionHoldsOneMedia()
    try:
        with transaction.atomic():
            link = SubscriptionMedia.objects.create(subscription=subscription, media=media)
            audit.record("attached media", subscription, changes={"media": [None, _media(media)]})
            return link
    except IntegrityError:
        raise errors.MediaAlreadyAttached() from None


@transaction.atomic
def detach_media(*, subscription: Subscription, media: Media) -> None:
    """Remove `media` from `subscription` (the media itself stays in the library)."""
    if subscription.archived_at is not None:
        raise errors.SubscriptionArchived(field="media")
    deleted, _ = SubscriptionMedia.objects.filter(subscription=subscription, media=media).delete()
    if not deleted:
        raise errors.MediaNotAttached()
    audit.record("detached media", subscription, changes={"media": [_media(media), None]})


def _media(media: Media) -> str:
    return f"“{media.title}” ({media.code})"


# --- Media --------------------------------------------------------------------------------------

MEDIA_FIELDS = (
    "title",
    "kind",
    "width",
    "height",
    "duration",
    "status",
    "poster_url",
    "hls_url",
    "download_url",
)


def check_media(media: Media) -> None:
    """Raise every rule an unsaved media breaks, all at once (also used by the admin's form)."""
    refusals = Refusals(errors.CatalogRefusals)
    _check_required_text(media, "title", refusals=refusals)
    _check_control_characters(media, refusals=refusals)
    _check_choices(media, "kind", "status", refusals=refusals)
    _check_whole_numbers(media, {"width": 1, "height": 1, "duration": 0}, refusals=refusals)
    _check_urls(media, "poster_url", "hls_url", "download_url", refusals=refusals)
    refusals.raise_any()


@transaction.atomic
def create_media(*, title: str, **fields) -> Media:
    """A new media in the library."""
    media = Media()
    _apply(media, MEDIA_FIELDS, {"title": title, **fields})
    check_media(media)
    media.save()
    audit.record("created", media)
    return media


@transaction.atomic
def update_media(*, media: Media, **changes) -> Media:
    """Change the given fields of a media."""
    before = audit.stored(media)
    _apply(media, MEDIA_FIELDS, changes)
    check_media(media)
    media.save()
    audit.record("changed", media, before=before)
    return media


@transaction.atomic
def delete_media(*, media: Media) -> None:
    """Delete a media that no subscription holds."""
    holders = list(
        Subscription.objects.filter(media_links__media=media).values_list("code", flat=True)[:5]
    )
    if holders:
        raise errors.MediaInUse(
            "This media is held by subscription "
            f"{', '.join(holders)}: remove it from every subscription before deleting it."
        )
    try:
        audit.record("deleted", media)
        media.delete()
    except (ProtectedError, RestrictedError):
        raise errors.MediaInUse() from None


# --- Pricing models -----------------------------------------------------------------------------

PRICING_MODEL_FIELDS = (
    "title",
    "price",
    "currency",
    "is_recurring",
    "recurrence_unit",
    "recurrence_count",
    "rental_hours",
    "quality",
    "grant_all_devices",
    "device_types",
    "trial_days",
)


def check_pricing_model(pricing_model: PricingModel) -> None:
    """Raise every rule an unsaved pricing model breaks, all at once (also used by the admin's
    form)."""
    refusals = Refusals(errors.CatalogRefusals)
    _check_required_text(pricing_model, "title", refusals=refusals)
    _check_control_characters(pricing_model, refusals=refusals)
    if pricing_model.currency not in currency_codes():
        refusals.add(errors.InvalidChoice(field="currency"))
    else:  # the price's digits depend on the currency
        with refusals.collecting():
            pricing_model.price = _check_money(
                pricing_model.price, pricing_model.currency, field="price"
            )
    _check_choices(
        pricing_model,
        "quality",
        "recurrence_unit",
        allow_blank=["recurrence_unit"],
        refusals=refusals,
    )
    _check_whole_numbers(
        pricing_model,
        {"recurrence_count": 1, "rental_hours": 1, "trial_days": 0},
        refusals=refusals,
    )
    _check_period_length(pricing_model, refusals=refusals)
    if pricing_model.is_recurring:
        if not pricing_model.recurrence_unit:
            refusals.add(errors.RecurrenceRequired())
        if pricing_model.recurrence_count is None:
            refusals.add(errors.RecurrenceRequired(field="recurrence_count"))
        if pricing_model.rental_hours is not None:
            refusals.add(errors.RentalHoursOnlyForOneTime())
    else:
        if pricing_model.recurrence_unit:
            refusals.add(errors.RecurrenceOnlyForRecurring())
        if pricing_model.recurrence_count is not None:
            refusals.add(errors.RecurrenceOnlyForRecurring(field="recurrence_count"))
        if pricing_model.trial_days:
            refusals.add(errors.TrialOnlyForRecurring())
    known_devices = set(PricingModel.DeviceType.values)
    device_types = list(dict.fromkeys(pricing_model.device_types or []))
    if any(device not in known_devices for device in device_types):
        refusals.add(errors.InvalidChoice(field="device_types"))
    elif pricing_model.grant_all_devices:
        device_types = []  # every device: a list would only repeat that
    elif not device_types:
        refusals.add(errors.DeviceTypesRequired())
    refusals.raise_any()
    pricing_model.device_types = device_types


# The longest rental or billing period, per unit: a longer one, once sold, could end past the
# year 9999 that dates can hold.
MAX_PERIOD_YEARS = 100
MAX_PERIOD = {
    "hours": MAX_PERIOD_YEARS * 366 * 24,
    PricingModel.RecurrenceUnit.DAYS: MAX_PERIOD_YEARS * 366,
    PricingModel.RecurrenceUnit.WEEKS: MAX_PERIOD_YEARS * 53,
    PricingModel.RecurrenceUnit.MONTHS: MAX_PERIOD_YEARS * 12,
    PricingModel.RecurrenceUnit.YEARS: MAX_PERIOD_YEARS,
}


def _check_period_length(pricing_model: PricingModel, *, refusals: Refusals) -> None:
    for field, unit in (
        ("rental_hours", "hours"),
        ("recurrence_count", pricing_model.recurrence_unit),
    ):
        value, limit = getattr(pricing_model, field), MAX_PERIOD.get(unit)
        if isinstance(value, int) and limit is not None and value > limit:
            refusals.add(
                errors.PeriodTooLong(
                    f"Enter at most {limit:,} {unit} ({MAX_PERIOD_YEARS} years).", field=field
                )
            )


@transaction.atomic
def create_pricing_model(*, title: str, price: Decimal, currency: str, **fields) -> PricingModel:
    """A new pricing model; its price has no more decimals than its currency."""
    pricing_model = PricingModel()
    _apply(
        pricing_model,
        PRICING_MODEL_FIELDS,
        {"title": title, "price": price, "currency": currency, **fields},
    )
    check_pricing_model(pricing_model)
    pricing_model.save()
    audit.record("created", pricing_model)
    return pricing_model


# What a sale was made on: changing these after a sale would rewrite what buyers agreed to.
SOLD_TERMS = ("currency", "is_recurring", "recurrence_unit", "recurrence_count")
# The catalog's own links to a pricing model; any other (purchases, contracts) is a sale.
PRICING_MODEL_OWN_RELATIONS = {"subscriptions", "offers"}


def _was_sold(pricing_model: PricingModel) -> bool:
    return any(
        relation.related_model._base_manager.filter(**{relation.field.name: pricing_model}).exists()
        for relation in PricingModel._meta.related_objects
        if relation.get_accessor_name() not in PRICING_MODEL_OWN_RELATIONS
    )


@transaction.atomic
def update_pricing_model(*, pricing_model: PricingModel, **changes) -> PricingModel:
    """Change a pricing model; the history keeps the old price and who changed it. Once sold,
    its currency and whether and how it recurs are fixed: purchases and running contracts were
    made on them (a new price is fine: contracts take it only when the shop says so)."""
    if _was_sold(pricing_model):
        for name in SOLD_TERMS:
            if name in changes and changes[name] != getattr(pricing_model, name):
                raise errors.PricingModelTermsFixed(field=name)
    before = audit.stored(pricing_model)
    _apply(pricing_model, PRICING_MODEL_FIELDS, changes)
    check_pricing_model(pricing_model)
    pricing_model.save()
    audit.record("changed", pricing_model, before=before)
    return pricing_model


@transaction.atomic
def delete_pricing_model(*, pricing_model: PricingModel) -> None:
    """Delete a pricing model no subscription offers and no purchase used."""
    offered_by = list(
        Subscription.objects.filter(offers__pricing_model=pricing_model).values_list(
            "code", flat=True
        )[:5]
    )
    if offered_by:
        raise errors.PricingModelInUse(
            f"Subscription {', '.join(offered_by)} offers this pricing model: "
            "remove it from the subscription first."
        )
    try:
        audit.record("deleted", pricing_model)
        pricing_model.delete()
    except (ProtectedError, RestrictedError):
        raise errors.PricingModelInUse() from None


# --- Coupons ------------------------------------------------------------------------------------

COUPON_FIELDS = (
    "code",
    "description",
    "discount_type",
    "percent",
    "amount",
    "currency",
    "valid_from",
    "valid_until",
    "use_limit",
    "uses_per_buyer",
    "first_purchase_only",
    "applies_to_all",
)
COUPON_CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{3,32}")


def check_coupon(coupon: Coupon) -> None:
    """Raise every rule an unsaved coupon breaks, all at once (also used by the admin's form)."""
    refusals = Refusals(errors.CatalogRefusals)
    coupon.code = (coupon.code or "").strip() or new_public_code()
    _check_control_characters(coupon, refusals=refusals)
    if not COUPON_CODE_PATTERN.fullmatch(coupon.code):
        refusals.add(errors.InvalidCouponCode())
    elif Coupon.objects.filter(code__iexact=coupon.code).exclude(pk=coupon.pk).exists():
        refusals.add(errors.CouponCodeTaken())
    coupon.description = (coupon.description or "").strip()
    _check_choices(coupon, "discount_type", refusals=refusals)
    # Only the chosen kind of discount is kept: the form shows both kinds' fields.
    if coupon.discount_type == Coupon.DiscountType.PERCENT:
        coupon.amount, coupon.currency = None, ""
        if coupon.percent is None:
            refusals.add(errors.InvalidDiscount())
        else:
            percent = Decimal(coupon.percent)
            if not (0 < percent <= 100) or percent != percent.quantize(Decimal("0.01")):
                refusals.add(
                    errors.InvalidDiscount(
                        "Give a percent above 0 and at most 100, with at most 2 decimals."
                    )
                )
    else:
        coupon.percent = None
        if not coupon.currency:
            refusals.add(
                errors.FieldRequired("Choose the currency of the amount.", field="currency")
            )
        elif coupon.currency not in currency_codes():
            refusals.add(errors.InvalidChoice(field="currency"))
        if coupon.amount is None:
            refusals.add(errors.InvalidDiscount("Give the amount it takes off.", field="amount"))
        elif not refusals.has("currency"):  # the amount's digits depend on the currency
            with refusals.collecting():
                coupon.amount = _check_money(coupon.amount, coupon.currency, field="amount")
                if coupon.amount == 0:
                    raise errors.InvalidDiscount("Give an amount above 0.", field="amount")
    coupon.valid_from = shop_datetime(coupon.valid_from, end_of_day=False)
    coupon.valid_until = shop_datetime(coupon.valid_until, end_of_day=True)
    if coupon.valid_from and coupon.valid_until and coupon.valid_from >= coupon.valid_until:
        refusals.add(errors.ValidFromNotBeforeUntil())
    _check_whole_numbers(coupon, {"use_limit": 0, "uses_per_buyer": 1}, refusals=refusals)
    if (
        isinstance(coupon.use_limit, int)
        and not refusals.has("use_limit")
        and coupon.use_limit < coupon.uses
    ):
        refusals.add(
            errors.UseLimitBelowUses(
                f"The use limit cannot be lower than the {coupon.uses} uses so far."
            )
        )
    refusals.raise_any()


def check_coupon_subscriptions(applies_to_all: bool, subscriptions) -> None:
    """A coupon applies to every subscription or to those chosen, never both (ticking "every
    subscription" used to drop the chosen ones without a word) and never to none."""
    if applies_to_all and subscriptions:
        raise errors.CouponForAllHasSubscriptions()
    if not applies_to_all and not subscriptions:
        raise errors.CouponNeedsSubscriptions()


def _save_coupon(coupon: Coupon, subscriptions: Iterable[Subscription] | None) -> Coupon:
    if subscriptions is not None:
        subscriptions = list(subscriptions)
        check_coupon_subscriptions(coupon.applies_to_all, subscriptions)
    elif coupon.applies_to_all:
        subscriptions = []  # made to apply to every subscription without naming a list
    else:
        subscriptions = list(coupon.subscriptions.all()) if coupon.pk else []
        check_coupon_subscriptions(False, subscriptions)
    try:
        with transaction.atomic():
            coupon.save()
    except IntegrityError:
        raise errors.CouponCodeTaken() from None
    coupon.subscriptions.set(subscriptions)
    return coupon


@transaction.atomic
def create_coupon(
    *, code: str = "", subscriptions: Iterable[Subscription] | None = None, **fields
) -> Coupon:
    """A new coupon; its code is unique whatever the letter case (generated when left empty)."""
    coupon = Coupon()
    _apply(coupon, COUPON_FIELDS, {"code": code, **fields})
    check_coupon(coupon)
    coupon = _save_coupon(coupon, subscriptions)
    audit.record("created", coupon)
    return coupon


@transaction.atomic
def update_coupon(
    *, coupon: Coupon, subscriptions: Iterable[Subscription] | None = None, **changes
) -> Coupon:
    """Change a coupon; the uses so far stay as counted."""
    before = audit.stored(coupon)
    _apply(coupon, COUPON_FIELDS, changes)
    check_coupon(coupon)
    coupon = _save_coupon(coupon, subscriptions)
    audit.record("changed", coupon, before=before)
    return coupon


@transaction.atomic
def delete_coupon(*, coupon: Coupon) -> None:
    """Delete a coupon no purchase refers to."""
    try:
        audit.record("deleted", coupon)
        coupon.delete()
    except (ProtectedError, RestrictedError):
        raise errors.CouponInUse() from None


@transaction.atomic
def use_coupon(*, coupon: Coupon) -> Coupon:
    """Count one use of `coupon`, in one UPDATE, so two buyers can never both take its last use."""
    used = (
        Coupon.objects.filter(pk=coupon.pk)
        .filter(Q(use_limit__isnull=True) | Q(uses__lt=F("use_limit")))
        .update(uses=F("uses") + 1)
    )
    if not used:
        raise errors.CouponUsedUp()
    coupon.refresh_from_db(fields=["uses"])
    return coupon


@dataclass(frozen=True)
class PriceQuote:
    """A price in integer minor units of `currency` (cents for EUR, yen for JPY)."""

    currency: str
    list_price: int
    discount: int
    final_price: int

    def as_decimal(self, minor_units: int) -> Decimal:
        return Decimal(minor_units).scaleb(-minor_digits(self.currency))

    @property
    def final_amount(self) -> Decimal:
        return self.as_decimal(self.final_price)


def price_with_coupon(
    *,
    pricing_model: PricingModel,
    coupon: Coupon | None = None,
    subscription: Subscription | None = None,
    at: datetime | None = None,
) -> PriceQuote:
    """The price of `pricing_model` with `coupon` at time `at`: the percent is rounded half-up
    to the currency's minor units, a fixed amount must be in the same currency, and the final
    price never goes below zero. Refuses a coupon that is not valid then or not for
    `subscription`."""
    currency = pricing_model.currency
    list_price = to_minor_units(pricing_model.price, currency)
    if coupon is None:
        return PriceQuote(currency, list_price, 0, list_price)
    at = at or timezone.now()
    if coupon.valid_from and at < coupon.valid_from:
        raise errors.CouponNotValidYet()
    if coupon.valid_until and at >= coupon.valid_until:
        raise errors.CouponExpired()
    if coupon.use_limit is not None and coupon.uses >= coupon.use_limit:
        raise errors.CouponUsedUp()
    if (
        subscription is not None
        and not coupon.applies_to_all
        and not coupon.subscriptions.filter(pk=subscription.pk).exists()
    ):
        raise errors.CouponNotApplicable()
    if coupon.discount_type == Coupon.DiscountType.PERCENT:
        discount = int(
            (Decimal(list_price) * Decimal(coupon.percent) / 100).quantize(
                Decimal(1), ROUND_HALF_UP
            )
        )
    else:
        if coupon.currency != currency:
            raise errors.CouponCurrencyMismatch(
                f"This coupon takes off {coupon.currency}; the price is in {currency}."
            )
        discount = to_minor_units(coupon.amount, currency)
    discount = min(discount, list_price)
    return PriceQuote(currency, list_price, discount, list_price - discount)


# --- Shop contacts ------------------------------------------------------------------------------


CONTACT_FIELDS = ("name", "phone", "email", "site", "description")


def get_shop_contacts() -> ShopContacts:
    """The shop's contacts, or an empty unsaved row before anyone has entered them."""
    return ShopContacts.objects.filter(pk=ShopContacts.SINGLETON_ID).first() or ShopContacts()


def check_shop_contacts(contacts: ShopContacts) -> None:
    """Raise every rule the seller's contacts break, all at once (also used by the admin's
    form)."""
    refusals = Refusals(errors.CatalogRefusals)
    for field in CONTACT_FIELDS:
        setattr(contacts, field, (getattr(contacts, field) or "").strip())
    _check_control_characters(contacts, refusals=refusals)
    if not contacts.name:
        refusals.add(errors.ShopNameRequired())
    if not contacts.phone and not contacts.email:
        refusals.add(errors.PhoneOrEmailRequired())
    if contacts.email:
        try:
            validate_email(contacts.email)
        except ValidationError:
            refusals.add(errors.InvalidEmail())
    _check_urls(contacts, "site", refusals=refusals)
    refusals.raise_any()


@transaction.atomic
def update_shop_contacts(
    *, name: str, phone: str = "", email: str = "", site: str = "", description: str = ""
) -> ShopContacts:
    """Write the seller's contacts (reference 004 `updatecontacts`): a name and a phone or an
    e-mail are required."""
    contacts = ShopContacts(name=name, phone=phone, email=email, site=site, description=description)
    check_shop_contacts(contacts)
    before = audit.stored(ShopContacts(pk=ShopContacts.SINGLETON_ID), CONTACT_FIELDS)
    contacts, _ = ShopContacts.objects.update_or_create(
        pk=ShopContacts.SINGLETON_ID,
        defaults={field: getattr(contacts, field) for field in CONTACT_FIELDS},
    )
    audit.record("changed", contacts, before=before or dict.fromkeys(CONTACT_FIELDS))
    return contacts
