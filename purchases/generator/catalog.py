"""The catalog, written through the ORM (a few hundred rows, with their "created" history):
subscriptions of every kind, scope, window and sale state, their media, pricing models (one-time
and recurring, with and without trials, EUR/USD/JPY), coupons, the shop's contacts.

Answers a `Catalog`: what the buyers' purchases are drawn from, as plain objects whose times are
epoch seconds and prices minor units.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from core.codes import CODE_ALPHABET
from subscriptions.models import (
    Coupon,
    Media,
    PricingModel,
    ShopContacts,
    Subscription,
    SubscriptionMedia,
    SubscriptionPricingModel,
)

from .. import recurrence
from .codes import CodeSequence
from .load import first_free_id
from .names import PRODUCT_WORDS, TITLE_WORDS
from .values import DAY, as_datetime, as_decimal

CURRENCIES = ("EUR", "USD", "JPY")
COUPON_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECURRING = {
    # offer kind: recurrence unit, count, prices in euro cents
    "monthly": ("months", 1, [499, 799, 999, 1299, 1499]),
    "quarterly": ("months", 3, [1299, 1999, 2999, 3999]),
    "yearly": ("years", 1, [4999, 7999, 9999, 14999]),
    "weekly": ("weeks", 1, [199, 299, 399]),
}


@dataclass
class Offer:
    """A pricing model a product is sold with (its fields named as PricingModel's)."""

    pricing_model_id: int
    currency: str
    price: int  # minor units
    recurring: bool
    recurrence_unit: str = ""
    recurrence_count: int = 0
    rental_hours: int | None = None
    trial_days: int = 0

    def period_end(self, anchor: int, periods: int) -> int:
        """The end of the `periods`-th billing period from `anchor` (epoch seconds), by the
        product's own rule (purchases.recurrence: month ends clamped)."""
        return int(recurrence.period_end(self, as_datetime(anchor), periods).timestamp())


@dataclass
class Product:
    """A subscription as purchases see it: when it is on sale, what access it gives."""

    id: int
    kind: str
    created: int
    provisioning_only: bool
    period: int | None
    access_start: int | None
    access_expire: int | None
    sale_start: int | None
    sale_end: int | None
    archived: int | None
    activation: int | None
    offers: list = field(default_factory=list)

    def on_sale(self, t):
        return not (
            self.provisioning_only
            or t < self.created
            or (self.archived is not None and t >= self.archived)
            or (self.sale_start is not None and t < self.sale_start)
            or (self.sale_end is not None and t >= self.sale_end)
            or (self.access_expire is not None and t >= self.access_expire)
        )

    def window(self, t):
        """buyers.services.default_access_window: its own window, else `t` + its period."""
        start = self.access_start if self.access_start is not None else t
        if self.access_expire is not None:
            return start, self.access_expire
        if self.period:
            return start, start + self.period * DAY
        return start, None


@dataclass
class CouponInfo:
    id: int
    code: str
    percent: int | None
    amount: int | None
    currency: str
    valid_from: int | None
    valid_until: int | None
    products: set | None  # None: every subscription
    uses: int = 0


@dataclass
class Catalog:
    products: list  # of Product, in id order
    evergreen: list  # on sale all along, with both kinds of offer
    sellable: list  # not provisioning-only, with offers
    granted_only: list  # what staff grant: provisioning-only, or not sold as a subscription
    coupons: list  # of CouponInfo
    coupon_rows: list  # the Coupon rows, whose uses are counted at the end
    counts: dict  # rows written per table


def price_in(currency, cents):
    """A price given in euro cents as the currency's minor units (a rough JPY rate)."""
    return int(round(cents * 1.6 / 10)) * 10 if currency == "JPY" else cents


class ExplicitIds:
    """Explicit ids for the catalog too, so that the same seed gives the same ids."""

    def __init__(self):
        self.next = {}

    def __call__(self, model):
        if model not in self.next:
            self.next[model] = first_free_id(model)
        value = self.next[model]
        self.next[model] = value + 1
        return value


def make_catalog(run) -> Catalog:
    rng = run.rng
    catalog_id = ExplicitIds()
    codes = {
        model: CodeSequence(rng, model, "code", CODE_ALPHABET, 8)
        for model in (Media, PricingModel, Subscription)
    }
    n_products = min(max(12, run.n_purchases // 5000), 300)
    n_evergreen = max(4, n_products // 8)
    subscriptions, products, media_rows, links, offer_rows = [], [], [], [], []
    pricing_models = []
    pm_number = media_number = 0
    for i in range(n_products):
        evergreen = i < n_evergreen
        created = run.start - rng.randrange(1, 90 * DAY)
        if not evergreen and rng.random() < 0.4:
            created = run.start + rng.randrange(run.history_days * DAY - 30 * DAY)
        kind = "subscription"
        if not evergreen:
            kind = rng.choices(["subscription", "password", "collection"], [70, 15, 15])[0]
        provisioning = not evergreen and (rng.random() < (0.5 if kind != "subscription" else 0.06))
        period = access_start = access_expire = sale_start = sale_end = archived = None
        if evergreen or rng.random() < 0.65:
            period = rng.choice([1, 2, 7, 30, 30, 90, 365])
        else:
            access_start = created if rng.random() < 0.5 else None
            access_expire = created + rng.randrange(30, 900) * DAY
        if not evergreen and rng.random() < 0.12:
            sale_start = created + rng.randrange(0, 60) * DAY
        if not evergreen and rng.random() < 0.1:
            sale_end = (sale_start or created) + rng.randrange(60, 700) * DAY
        if not evergreen and rng.random() < 0.05:
            archived = created + rng.randrange(30 * DAY, max(31 * DAY, run.now - created))
            archived = archived if archived < run.now else None
        # The first products after the evergreen ones show every kind and state, however
        # small the catalog: not on sale yet, provisioning-only, both collection types, an
        # access window over, archived, sale ended.
        showcase = i - n_evergreen
        if 0 <= showcase < 6:
            created = run.start - 30 * DAY
            period, access_start, access_expire = 30, None, None
            sale_start = sale_end = archived = None
            provisioning = showcase == 1
            kind = ("password", "collection", "collection")[showcase] if showcase < 3 else kind
            if showcase == 0:
                sale_start = run.now + rng.randrange(5, 60) * DAY
            elif showcase == 3:
                period, access_start = None, created
                access_expire = run.start + 300 * DAY
            elif showcase == 4:
                archived = run.start + 400 * DAY
            elif showcase == 5:
                sale_end = run.start + 500 * DAY
        drm = rng.random() < 0.25
        scope = "single" if rng.random() < 0.4 else "group"
        name = f"{rng.choice(TITLE_WORDS)} {rng.choice(TITLE_WORDS)} {rng.choice(PRODUCT_WORDS)}"
        product = Product(
            id=0,
            kind=kind,
            created=created,
            provisioning_only=provisioning,
            period=period,
            access_start=access_start,
            access_expire=access_expire,
            sale_start=sale_start,
            sale_end=sale_end,
            archived=archived,
            activation=rng.choice([1, 2, 3, 5]) if rng.random() < 0.3 else None,
        )
        products.append(product)
        subscriptions.append(
            Subscription(
                pk=catalog_id(Subscription),
                code=codes[Subscription](i),
                name=name,
                kind=kind,
                collection_type=("collect" if i % 2 else "protect") if kind == "collection" else "",
                scope=scope,
                description=f"{name}: {rng.choice(TITLE_WORDS).lower()} on demand.",
                period=period,
                access_start=as_datetime(access_start) if access_start else None,
                access_expire=as_datetime(access_expire) if access_expire else None,
                activation=product.activation,
                buy_redirect_url="https://shop.example.com/thanks" if i % 3 == 0 else "",
                custom_url=f"https://watch.example.com/s/{i}" if i % 4 == 0 else "",
                ip_recovery=rng.random() < 0.2,
                device_ban=rng.random() < 0.2,
                buyer_commission=rng.random() < 0.1,
                drm=drm,
                downloadable_origin=drm and rng.random() < 0.3,
                preview=rng.choice([30, 60, 120]) if drm and rng.random() < 0.5 else None,
                watermark=drm and rng.random() < 0.5,
                watermark_email=drm and rng.random() < 0.3,
                watermark_name=drm and rng.random() < 0.3,
                watermark_ip=drm and rng.random() < 0.2,
                sale_start=as_datetime(sale_start) if sale_start else None,
                sale_end=as_datetime(sale_end) if sale_end else None,
                stock=None,
                provisioning_only=provisioning,
                mandatory=False,
                archived_at=as_datetime(archived) if archived else None,
            )
        )
        # Media: one for a single-media subscription, a few for a group.
        for _ in range(1 if scope == "single" else rng.randint(2, 8)):
            video = rng.random() < 0.85
            width, height = rng.choice([(1920, 1080), (1280, 720), (3840, 2160), (720, 576)])
            status = rng.choices(["done", "processing", "failed"], [92, 4, 4])[0]
            code = codes[Media](media_number)
            media_number += 1
            media_rows.append(
                Media(
                    pk=catalog_id(Media),
                    code=code,
                    title=f"{rng.choice(TITLE_WORDS)} {rng.choice(TITLE_WORDS)} {code[-3:]}",
                    kind="video" if video else "audio",
                    width=width if video else None,
                    height=height if video else None,
                    duration=rng.randrange(60, 3 * 3600),
                    status=status,
                    poster_url=f"https://cdn.example.com/{code}/poster.jpg" if video else "",
                    hls_url=f"https://cdn.example.com/{code}/index.m3u8"
                    if status == "done"
                    else "",
                    created_at=as_datetime(created - rng.randrange(DAY, 30 * DAY)),
                )
            )
            links.append((i, len(media_rows) - 1))
        # Offers: every evergreen product sells both ways; others one to three offers.
        currency = rng.choices(CURRENCIES, [50, 30, 20])[0]
        kinds = ["once", "monthly"] if evergreen else []
        for _ in range(0 if evergreen else rng.randint(1, 3)):
            kinds.append(rng.choice(["once", "rental", "monthly", "quarterly", "yearly", "weekly"]))
        if rng.random() < 0.15:
            kinds.append("once")
        for n, offer_kind in enumerate(kinds):
            cur = currency if n < 2 or rng.random() < 0.5 else rng.choice(CURRENCIES)
            pm, offer = pricing_model(
                rng, offer_kind, cur, codes[PricingModel](pm_number), catalog_id(PricingModel)
            )
            pm_number += 1
            offer.pricing_model_id = len(pricing_models)
            pricing_models.append(pm)
            offer_rows.append((i, len(pricing_models) - 1, n == 0))
            product.offers.append(offer)
    Media.objects.bulk_create(media_rows, batch_size=1000)
    PricingModel.objects.bulk_create(pricing_models, batch_size=1000)
    Subscription.objects.bulk_create(subscriptions, batch_size=1000)
    # created_at is auto_now_add: set the history's dates afterwards.
    for subscription, product in zip(subscriptions, products, strict=True):
        product.id = subscription.pk
        subscription.created_at = as_datetime(product.created)
    Subscription.objects.bulk_update(subscriptions, ["created_at"], batch_size=1000)
    # The "created" history records a staff-made row has (history pages read them).
    for subscription in subscriptions:
        subscription._history_date = subscription.created_at
    Subscription.history.bulk_history_create(subscriptions, batch_size=1000)
    for s, p, _ in offer_rows:
        pricing_models[p].created_at = subscriptions[s].created_at
        pricing_models[p]._history_date = subscriptions[s].created_at
    PricingModel.objects.bulk_update(pricing_models, ["created_at"], batch_size=1000)
    PricingModel.history.bulk_history_create(pricing_models, batch_size=1000)
    for product in products:
        for offer in product.offers:
            offer.pricing_model_id = pricing_models[offer.pricing_model_id].pk
    SubscriptionMedia.objects.bulk_create(
        [SubscriptionMedia(subscription=subscriptions[s], media=media_rows[m]) for s, m in links],
        batch_size=1000,
    )
    offers = SubscriptionPricingModel.objects.bulk_create(
        [
            SubscriptionPricingModel(
                subscription=subscriptions[s], pricing_model=pricing_models[p], is_default=d
            )
            for s, p, d in offer_rows
        ],
        batch_size=1000,
    )
    for offer in offers:
        offer._history_date = offer.pricing_model.created_at
    SubscriptionPricingModel.history.bulk_history_create(offers, batch_size=1000)
    if not ShopContacts.objects.exists():
        ShopContacts.objects.create(
            name="Example Video Shop",
            phone="+44 20 7946 0000",
            email="shop@example.com",
            site="https://shop.example.com/",
            description="Films, courses and live events on demand.",
        )
    coupons, coupon_rows = make_coupons(run, products, catalog_id)
    return Catalog(
        products=products,
        evergreen=products[:n_evergreen],
        sellable=[p for p in products if not p.provisioning_only and p.offers],
        granted_only=[p for p in products if p.provisioning_only or p.kind != "subscription"],
        coupons=coupons,
        coupon_rows=coupon_rows,
        counts={
            "subscriptions": len(subscriptions),
            "media": len(media_rows),
            "pricing models": len(pricing_models),
            "coupons": len(coupons),
        },
    )


def pricing_model(rng, offer_kind, currency, code, pk) -> tuple[PricingModel, Offer]:
    quality = rng.choices(["SD", "HD", "UHD"], [15, 65, 20])[0]
    devices = [] if rng.random() < 0.7 else rng.sample(PricingModel.DeviceType.values, 2)
    if offer_kind in RECURRING:
        unit, count, prices = RECURRING[offer_kind]
        price = price_in(currency, rng.choice(prices))
        trial = rng.choice([0, 0, 0, 7, 14])
        title = {"monthly": "Monthly", "quarterly": "Every 3 months", "yearly": "Yearly"}.get(
            offer_kind, "Weekly"
        )
        offer = Offer(0, currency, price, True, unit, count, None, trial)
    else:
        rental = rng.choice([24, 48, 72]) if offer_kind == "rental" else None
        price = price_in(currency, rng.choice([299, 399, 499, 799, 999, 1499, 1999, 2999, 4999]))
        title = f"Rent {rental} h" if rental else "Buy"
        offer = Offer(0, currency, price, False, "", 0, rental, 0)
    pm = PricingModel(
        pk=pk,
        code=code,
        title=f"{title} · {quality}",
        price=as_decimal(price, currency),
        currency=currency,
        is_recurring=offer.recurring,
        recurrence_unit=offer.recurrence_unit,
        recurrence_count=offer.recurrence_count or None,
        rental_hours=offer.rental_hours,
        quality=quality,
        grant_all_devices=not devices,
        device_types=devices,
        trial_days=offer.trial_days,
    )
    return pm, offer


def make_coupons(run, products, catalog_id) -> tuple[list[CouponInfo], list[Coupon]]:
    rng = run.rng
    existing = {code.lower() for code in Coupon.objects.values_list("code", flat=True)}
    tag = CodeSequence(rng, Coupon, "code", COUPON_ALPHABET, 6, prefix_length=1)
    coupons, infos = [], []
    for n in range(min(max(4, run.n_purchases // 20000), 60)):
        percent = amount = None
        currency = ""
        if n % 3 == 2:
            currency = rng.choice(CURRENCIES)
            amount = price_in(currency, rng.choice([100, 200, 500, 1000]))
            word = "OFF"
        else:
            percent = rng.choice([5, 10, 15, 20, 25, 50, 100] if n else [100])
            word = rng.choice(["SAVE", "WELCOME", "SPRING", "FRIENDS", "PROMO"])
        code = f"{word}{percent or ''}-{tag(n)}"
        while code.lower() in existing:
            code += "X"
        valid_from = valid_until = None
        if rng.random() < 0.5:
            valid_from = run.start + rng.randrange(0, run.history_days - 60) * DAY
            if rng.random() < 0.6:
                valid_until = valid_from + rng.randrange(14, 365) * DAY
        applies_to = None
        if rng.random() < 0.3:
            applies_to = set(p.id for p in rng.sample(products, min(4, len(products))))
        infos.append(
            CouponInfo(0, code, percent, amount, currency, valid_from, valid_until, applies_to)
        )
        coupons.append(
            Coupon(
                pk=catalog_id(Coupon),
                code=code,
                description=f"{percent}% off" if percent else f"{amount} {currency} off",
                discount_type="percent" if percent else "fixed",
                percent=Decimal(percent) if percent else None,
                amount=as_decimal(amount, currency) if amount else None,
                currency=currency,
                valid_from=as_datetime(valid_from) if valid_from else None,
                valid_until=as_datetime(valid_until) if valid_until else None,
                applies_to_all=applies_to is None,
            )
        )
    Coupon.objects.bulk_create(coupons)
    for info, coupon in zip(infos, coupons, strict=True):
        info.id = coupon.pk
        if info.products:
            coupon.subscriptions.set(sorted(info.products))
    return infos, coupons


def count_coupon_uses(rng, catalog: Catalog):
    """Each coupon's uses as the purchases counted them; some have a use limit above them."""
    for info, coupon in zip(catalog.coupons, catalog.coupon_rows, strict=True):
        coupon.uses = info.uses
        if rng.random() < 0.4:
            coupon.use_limit = info.uses + rng.randrange(0, 50)
    Coupon.objects.bulk_update(catalog.coupon_rows, ["uses", "use_limit"])
