"""Realistic, reproducible shop data at any scale (`manage.py generate_data`).

What it writes, consistent with the services' rules:
- the catalog (ORM, a few hundred rows, with their "created" history): subscriptions of every
  kind, scope, window and sale state, media, pricing models (one-time and recurring, with and
  without trials, EUR/USD/JPY), coupons, shop contacts;
- buyers (e-mail, phone-only, Cyrillic and Japanese names, some with a PIN), staff-granted and
  purchased accesses with device activations, e-wallet ledgers, purchase sessions, purchases
  in every status over two years, refunds, cancellations, recurring contracts with their
  renewal attempts (declines, dunning retries, expiry), and the sandbox gateways' own ledger
  of those charges and refunds (which refunds, renewals and payment pages consult).

Buyers are generated one at a time, each with its purchases in time order, so the rules that
depend on a buyer's history hold: no purchase of a product the buyer still has access to, one
pending purchase per product, a ledger whose `balance_after` runs without ever going negative
(a top-up comes before a wallet payment the balance cannot cover), refunds that never exceed
what was paid, contract periods paid = the purchase's own period + approved renewals.

Fast: rows are built as tuples with explicit ids (after the tables' current maximum) and
written in batches, every table of a batch in foreign-key order, inside one transaction: on
PostgreSQL a thread streams each batch as `COPY ... FROM STDIN` text while the next batch is
generated, and the loaded tables' foreign keys and non-unique indexes are dropped for the load
and re-added (keys checked, indexes built, in one pass each) when we own the tables; on SQLite
`executemany`. Reproducible: one
`random.Random(seed)` draws everything, and every time is relative to `now`; the same seed,
`now` and starting database give the same rows. Public codes are a seeded prefix plus a
bijective scramble of the row number, checked against the rows already there.
"""

import bisect
import queue
import random
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from buyers.models import (
    ACCESS_HASH_ALPHABET,
    Access,
    AccessActivation,
    Buyer,
    WalletBalance,
    WalletEntry,
)
from core.codes import CODE_ALPHABET
from core.money import minor_digits
from subscriptions.models import (
    Coupon,
    Media,
    PricingModel,
    ShopContacts,
    Subscription,
    SubscriptionMedia,
    SubscriptionPricingModel,
)

from .models import (
    WALLET,
    Cancellation,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    Refund,
    SandboxCharge,
)

DAY = 86400
HISTORY_DAYS = 730
CURRENCIES = ("EUR", "USD", "JPY")
RETRY_DAYS = (1, 3, 7)  # the renewal engine's default dunning schedule
PENDING_MINUTES = 30
CARD = "sandbox_card"
REDIRECTS = ("sandbox_paypal", "sandbox_worldpay", "sandbox_webpay")
DECLINES = (
    ("tok_decline", "12", "Declined"),
    ("tok_insufficient_funds", "51", "Insufficient funds"),
)


class ShopHasPurchases(Exception):
    """The database already holds purchases and appending was not asked for."""


@dataclass
class Counts:
    """How many rows of each kind were written (purchases by status)."""

    rows: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)
    seconds: float = 0.0


# --- Public codes ------------------------------------------------------------------------------


class CodeSequence:
    """Unique codes for one table: a seeded prefix and a scrambled row number in base
    len(alphabet); (i * MULT + offset) mod base**width is a bijection, so codes never repeat
    within a run, and codes already in the table are skipped."""

    MULT = 1_000_000_007  # prime, coprime with 62**6 and 32**10

    def __init__(self, rng, model, field_name, alphabet, length, *, prefix_length=2):
        self.alphabet, self.base = alphabet, len(alphabet)
        self.pairs = [a + b for a in alphabet for b in alphabet]  # two digits at a time
        self.pair_base = self.base**2
        self.width = length - prefix_length
        self.modulus = self.base**self.width
        self.offset = rng.randrange(self.modulus)
        manager = model._default_manager
        for _ in range(50):
            prefix = "".join(rng.choice(alphabet) for _ in range(prefix_length))
            taken = manager.filter(**{f"{field_name}__startswith": prefix})
            if taken.count() < 10_000:  # a prefix a previous run used is drawn again
                break
        self.prefix = prefix
        self.taken = set(taken.values_list(field_name, flat=True))
        self.spare = self.modulus // 2  # numbers above this stand in for taken codes

    def _encode(self, number):
        n = (number * self.MULT + self.offset) % self.modulus
        text, pairs, size = self.prefix, self.pairs, self.pair_base
        for _ in range(self.width // 2):
            n, r = divmod(n, size)
            text += pairs[r]
        if self.width % 2:
            text += self.alphabet[n]
        return text

    def __call__(self, number):
        code = self._encode(number)
        while code in self.taken:
            code = self._encode(self.spare)
            self.spare += 1
        return code


# --- Writing rows ------------------------------------------------------------------------------

TABLES = {
    # model: its columns, in the order the row tuples below give them
    SandboxCharge: "id gateway idempotency_key kind pnref amount currency instrument status "
    "result_code response_message auth_code return_url cancel_url refund_of_id answered "
    "created_at",
    Buyer: "id code email phone name created_at pin_hash pin_failed_attempts pin_locked_at",
    Access: "id code buyer_id subscription_id hash activation_limit activations_used access_start "
    "access_expire purchased_at granted_by_id custom_url use_subscription_custom_url "
    "revoked_at revoked_by_id created_at",
    AccessActivation: "id access_id device_id ip_address first_seen_at",
    PurchaseSession: "id buyer_id subscription_id pricing_model_id media_id transaction_type "
    "list_price discount price currency coupon_id user_ip udid preview_module created_at "
    "expires_at consumed_at",
    Purchase: "id code buyer_id subscription_id pricing_model_id session_id list_price discount "
    "amount currency coupon_id coupon_code is_recurring payment_type instrument status "
    "gateway_reference auth_code result_code response_message redirect_url return_url "
    "cancel_url access_id created_by_id created_at completed_at expires_at trial_ends_at",
    RecurringContract: "id code purchase_id buyer_id subscription_id pricing_model_id access_id "
    "amount currency payment_type instrument recurrence_unit recurrence_count anchor "
    "periods_paid next_bill_date next_retry_at failed_attempts cancel_at_period_end status "
    "claimed_until created_at ended_at",
    ContractTransaction: "id contract_id period attempt idempotency_key payment_pref "
    "transaction_date amount convenience_fee currency status pnref result_code "
    "response_message auth_code",
    Refund: "id code purchase_id contract_transaction_id amount currency method "
    "gateway_reference reason created_by_id created_at",
    Cancellation: "id purchase_id mode refund_id by_buyer created_by_id created_at",
    WalletEntry: "id buyer_id kind amount currency balance_after reason reference "
    "created_by_id created_at",
    WalletBalance: "id buyer_id currency balance updated_at",
}


class RowWriter:
    """Buffers rows per table and writes them all, in foreign-key order (TABLES'), once
    `batch` rows are waiting. On PostgreSQL a thread streams each batch with COPY while the
    next one is generated (the server's work overlaps ours); on SQLite `executemany`."""

    def __init__(self, batch=50_000):
        self.batch = batch
        self.columns = {}
        for model, columns in TABLES.items():
            columns = columns.split()
            actual = [f.column for f in model._meta.concrete_fields]
            if sorted(actual) != sorted(columns):
                raise RuntimeError(f"generate_data does not know {model.__name__}'s columns")
            self.columns[model] = columns
        self.rows = {model: [] for model in TABLES}
        self.buffered = 0
        self.written = dict.fromkeys(TABLES, 0)
        self.postgres = connection.vendor == "postgresql"
        self.batches = queue.Queue(maxsize=2)
        self.failure = None
        self.thread = None
        if self.postgres:
            connection.ensure_connection()
            # Only this thread uses the connection until close(): the caller writes nothing
            # else meanwhile.
            self.thread = threading.Thread(
                target=self._copy_batches, args=(connection.connection,), daemon=True
            )
            self.thread.start()

    def add(self, model, row):
        self.rows[model].append(row)
        self.buffered += 1

    def flush_if_full(self):
        """Called between buyers: a batch then holds every row its rows refer to."""
        if self.buffered >= self.batch:
            self.flush()

    def flush(self):
        batch = [(model, rows) for model, rows in self.rows.items() if rows]
        for model, rows in batch:
            self.written[model] += len(rows)
        self.rows = {model: [] for model in TABLES}
        self.buffered = 0
        if self.thread is None:
            self._insert(batch)
            return
        self._raise_failure()
        self.batches.put(batch)

    def close(self):
        """Write what is buffered and wait for the writer; raises what it met."""
        if self.thread is not None:
            self.batches.put(None)
            self.thread.join()
            self.thread = None
            self._raise_failure()

    def abandon(self):
        if self.thread is not None:
            self.failure = self.failure or RuntimeError("abandoned")
            self.batches.put(None)
            self.thread.join()
            self.thread = None

    def _raise_failure(self):
        if self.failure is not None:
            raise self.failure

    def _copy_batches(self, pg_connection):
        while (batch := self.batches.get()) is not None:
            if self.failure is not None:
                continue  # drain: the transaction is lost anyway
            try:
                with pg_connection.cursor() as cursor:
                    for model, rows in batch:
                        columns = ", ".join(self.columns[model])
                        sql = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
                        with cursor.copy(sql) as copy:
                            copy.write(copy_text(rows))
            except Exception as failure:  # noqa: BLE001 - handed to the generating thread
                self.failure = failure

    def _insert(self, batch):
        with connection.cursor() as cursor:
            for model, rows in batch:
                columns = self.columns[model]
                marks = ", ".join(["%s"] * len(columns))
                # Table and column names come from the models, never from input.
                insert = (
                    f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
                )
                cursor.executemany(insert, rows)


def copy_text(rows):
    """Rows in COPY's text format, built in one pass (psycopg's write_row, value by value, costs
    more than generating them). Generated text never holds a tab, newline or backslash."""
    return (
        "\n".join(
            [
                "\t".join(
                    [
                        v
                        if v.__class__ is str
                        else "\\N"
                        if v is None
                        else ("t" if v else "f")
                        if v.__class__ is bool
                        else str(v)
                        for v in row
                    ]
                )
                for row in rows
            ]
        )
        + "\n"
    )


def next_id(model):
    return (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


# --- Names and words ---------------------------------------------------------------------------

LATIN_FIRST = "Anna Ben Chloé Daniel Emma Felix Grace Hugo Inès Jonas Klara Lucas Maria Noah "
LATIN_FIRST += "Olivia Paul Quentin Rosa Sofia Tomás Ugo Vera William Zoé Ahmed Fatima Lena Marco"
LATIN_LAST = "Smith Müller García Rossi Dubois Novak Jansen Silva Kowalski Nielsen O'Brien "
LATIN_LAST += "Fernández Schmidt Martin Bernard Costa Weber Lindqvist Horvat Moreau Eriksen"
CYRILLIC = [
    ("Иван", "Ivan"),
    ("Ольга", "Olga"),
    ("Дмитрий", "Dmitry"),
    ("Анна", "Anna"),
    ("Сергей", "Sergey"),
    ("Мария", "Maria"),
    ("Алексей", "Alexey"),
    ("Наталья", "Natalya"),
    ("Юлия", "Yulia"),
    ("Павел", "Pavel"),
]
CYRILLIC_LAST = [
    ("Петров", "Petrov"),
    ("Смирнова", "Smirnova"),
    ("Кузнецов", "Kuznetsov"),
    ("Иванова", "Ivanova"),
    ("Соколов", "Sokolov"),
    ("Попова", "Popova"),
    ("Лебедев", "Lebedev"),
    ("Новикова", "Novikova"),
]
JAPANESE = ["Yuki", "Haruto", "Sakura", "Ren", "Aoi", "Sota", "Hina", "Kaito", "Mei", "Riku"]
JAPANESE_LAST = [
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Ito",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
]
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
TITLE_WORDS = [
    "Alpine",
    "Night",
    "Ocean",
    "Desert",
    "City",
    "Forest",
    "Winter",
    "Summer",
    "Jazz",
    "Opera",
    "Derby",
    "Final",
    "Cup",
    "Live",
    "Documentary",
    "Cooking",
    "Yoga",
    "Chess",
    "Tango",
    "Street",
    "Story",
    "Masterclass",
    "Concert",
    "Festival",
    "Series",
]
PRODUCT_WORDS = ("Season pass", "Live event", "Course", "Film", "Archive", "Premiere", "Bundle")
REFUND_REASONS = (
    "Playback problem",
    "Bought by mistake",
    "Duplicate purchase",
    "Event cancelled",
    "Goodwill",
)


def price_in(currency, cents):
    """A price given in euro cents as the currency's minor units (a rough JPY rate)."""
    return int(round(cents * 1.6 / 10)) * 10 if currency == "JPY" else cents


# --- The catalog -------------------------------------------------------------------------------


@dataclass
class Offer:
    pricing_model_id: int
    currency: str
    price: int  # minor units
    recurring: bool
    unit: str = ""
    count: int = 0
    rental_hours: int | None = None
    trial_days: int = 0


@dataclass
class Product:
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
        """Reference default_access_window: its own window, else `t` + its period."""
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


def ip_address(bits):
    return f"{(bits >> 24) % 223 + 1}.{(bits >> 16) & 255}.{(bits >> 8) & 255}.{bits & 255}"


def ascii_only(text):
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "")


def as_datetime(ts):
    return datetime.fromtimestamp(ts, UTC)


def as_decimal(minor, currency):
    return Decimal(minor).scaleb(-minor_digits(currency))


class Generator:
    def __init__(self, *, purchases, buyers, contracts, seed, now, progress):
        self.n_purchases, self.n_buyers, self.n_contracts = purchases, buyers, contracts
        self.rng = random.Random(seed)
        self.now = int(now.timestamp())
        self.start = self.now - HISTORY_DAYS * DAY
        self.progress = progress or (lambda done, total: None)
        self.postgres = connection.vendor == "postgresql"
        self._hours = {}
        suffix = "+00" if self.postgres else ""
        self._seconds = [f"{s // 60:02d}:{s % 60:02d}{suffix}" for s in range(3600)]
        self.minor = {c: minor_digits(c) for c in CURRENCIES}
        self.statuses = dict.fromkeys(Purchase.Status.values, 0)

    # Formatting: values go to the database as text (COPY) or as SQLite stores them.
    def ts(self, t):
        """Epoch seconds as the database's text: 'YYYY-MM-DD HH:' cached per hour, then
        'MM:SS' from a table of the hour's 3600 seconds."""
        if t is None:
            return None
        hour, second = divmod(int(t), 3600)
        text = self._hours.get(hour)
        if text is None:
            text = self._hours[hour] = as_datetime(hour * 3600).strftime("%Y-%m-%d %H:")
        return text + self._seconds[second]

    def money(self, minor, currency):
        digits = self.minor[currency]
        if digits == 0:
            return str(minor)
        sign = "-" if minor < 0 else ""
        whole, part = divmod(abs(minor), 10**digits)
        return f"{sign}{whole}.{part:0{digits}d}"

    def purchase_amount(self, list_price, discount, currency):
        """The amount charged as text; on SQLite the double its CHECK computes, since SQLite
        subtracts decimals as floating point (59.99 - 29.99 is not 30.00 there)."""
        if self.postgres or not discount:
            return self.money(list_price - discount, currency)
        return float(self.money(list_price, currency)) - float(self.money(discount, currency))

    def pnref(self):
        """A gateway reference: 20 hex digits, never like the sandbox's own (SB + 16)."""
        self.pnref_number += 1
        return self.pnref_codes(self.pnref_number)

    def sandbox(
        self,
        gateway,
        key,
        kind,
        pnref,
        amount,
        currency,
        instrument,
        status,
        result,
        message,
        auth,
        when,
        *,
        refund_of=None,
        answered=True,
        urls=("", ""),
    ):
        """The sandbox gateway's own record of a charge or refund (the provider's side), which
        the services consult: refunds need the charge, renewals the billing agreement."""
        charge_id = self.next(SandboxCharge)
        self.writer.add(
            SandboxCharge,
            (
                charge_id,
                gateway,
                key,
                kind,
                pnref,
                self.money(amount, currency),
                currency,
                instrument,
                status,
                result,
                message,
                auth,
                urls[0],
                urls[1],
                refund_of,
                answered,
                self.ts(when),
            ),
        )
        return charge_id

    # -- catalog --
    def catalog_id(self, model):
        """Explicit ids for the catalog too, so that the same seed gives the same ids."""
        if model not in self.catalog_ids:
            self.catalog_ids[model] = next_id(model)
        value = self.catalog_ids[model]
        self.catalog_ids[model] = value + 1
        return value

    def make_catalog(self):
        rng = self.rng
        self.catalog_ids = {}
        codes = {
            model: CodeSequence(rng, model, "code", CODE_ALPHABET, 8)
            for model in (Media, PricingModel, Subscription)
        }
        n_products = min(max(12, self.n_purchases // 5000), 300)
        n_evergreen = max(4, n_products // 8)
        subscriptions, self.products, media_rows, links, offer_rows = [], [], [], [], []
        pricing_models = []
        pm_number = media_number = 0
        for i in range(n_products):
            evergreen = i < n_evergreen
            created = self.start - rng.randrange(1, 90 * DAY)
            if not evergreen and rng.random() < 0.4:
                created = self.start + rng.randrange(HISTORY_DAYS * DAY - 30 * DAY)
            kind = "subscription"
            if not evergreen:
                kind = rng.choices(["subscription", "password", "collection"], [70, 15, 15])[0]
            provisioning = not evergreen and (
                rng.random() < (0.5 if kind != "subscription" else 0.06)
            )
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
                archived = created + rng.randrange(30 * DAY, max(31 * DAY, self.now - created))
                archived = archived if archived < self.now else None
            # The first products after the evergreen ones show every kind and state, however
            # small the catalog: not on sale yet, provisioning-only, both collection types, an
            # access window over, archived, sale ended.
            showcase = i - n_evergreen
            if 0 <= showcase < 6:
                created = self.start - 30 * DAY
                period, access_start, access_expire = 30, None, None
                sale_start = sale_end = archived = None
                provisioning = showcase == 1
                kind = ("password", "collection", "collection")[showcase] if showcase < 3 else kind
                if showcase == 0:
                    sale_start = self.now + rng.randrange(5, 60) * DAY
                elif showcase == 3:
                    period, access_start = None, created
                    access_expire = self.start + 300 * DAY
                elif showcase == 4:
                    archived = self.start + 400 * DAY
                elif showcase == 5:
                    sale_end = self.start + 500 * DAY
            drm = rng.random() < 0.25
            scope = "single" if rng.random() < 0.4 else "group"
            name = (
                f"{rng.choice(TITLE_WORDS)} {rng.choice(TITLE_WORDS)} {rng.choice(PRODUCT_WORDS)}"
            )
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
            self.products.append(product)
            subscriptions.append(
                Subscription(
                    pk=self.catalog_id(Subscription),
                    code=codes[Subscription](i),
                    name=name,
                    kind=kind,
                    collection_type=("collect" if i % 2 else "protect")
                    if kind == "collection"
                    else "",
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
                        pk=self.catalog_id(Media),
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
                kinds.append(
                    rng.choice(["once", "rental", "monthly", "quarterly", "yearly", "weekly"])
                )
            if rng.random() < 0.15:
                kinds.append("once")
            for n, offer_kind in enumerate(kinds):
                cur = currency if n < 2 or rng.random() < 0.5 else rng.choice(CURRENCIES)
                pm, offer = self._pricing_model(offer_kind, cur, codes[PricingModel](pm_number))
                pm_number += 1
                offer.pricing_model_id = len(pricing_models)
                pricing_models.append(pm)
                offer_rows.append((i, len(pricing_models) - 1, n == 0))
                product.offers.append(offer)
        Media.objects.bulk_create(media_rows, batch_size=1000)
        PricingModel.objects.bulk_create(pricing_models, batch_size=1000)
        Subscription.objects.bulk_create(subscriptions, batch_size=1000)
        # created_at is auto_now_add: set the history's dates afterwards.
        for subscription, product in zip(subscriptions, self.products, strict=True):
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
        for product in self.products:
            for offer in product.offers:
                offer.pricing_model_id = pricing_models[offer.pricing_model_id].pk
        SubscriptionMedia.objects.bulk_create(
            [
                SubscriptionMedia(subscription=subscriptions[s], media=media_rows[m])
                for s, m in links
            ],
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
        self.make_coupons()
        self.sellable = [p for p in self.products if not p.provisioning_only and p.offers]
        self.granted_only = [
            p for p in self.products if p.provisioning_only or p.kind != "subscription"
        ]
        self.evergreen = self.products[:n_evergreen]
        return {
            "subscriptions": len(subscriptions),
            "media": len(media_rows),
            "pricing models": len(pricing_models),
        }

    def _pricing_model(self, offer_kind, currency, code):
        rng = self.rng
        recurring = {
            "monthly": ("months", 1, [499, 799, 999, 1299, 1499]),
            "quarterly": ("months", 3, [1299, 1999, 2999, 3999]),
            "yearly": ("years", 1, [4999, 7999, 9999, 14999]),
            "weekly": ("weeks", 1, [199, 299, 399]),
        }
        quality = rng.choices(["SD", "HD", "UHD"], [15, 65, 20])[0]
        devices = [] if rng.random() < 0.7 else rng.sample(PricingModel.DeviceType.values, 2)
        if offer_kind in recurring:
            unit, count, prices = recurring[offer_kind]
            price = price_in(currency, rng.choice(prices))
            trial = rng.choice([0, 0, 0, 7, 14])
            title = {"monthly": "Monthly", "quarterly": "Every 3 months", "yearly": "Yearly"}.get(
                offer_kind, "Weekly"
            )
            offer = Offer(0, currency, price, True, unit, count, None, trial)
        else:
            rental = rng.choice([24, 48, 72]) if offer_kind == "rental" else None
            price = price_in(
                currency, rng.choice([299, 399, 499, 799, 999, 1499, 1999, 2999, 4999])
            )
            title = f"Rent {rental} h" if rental else "Buy"
            offer = Offer(0, currency, price, False, "", 0, rental, 0)
        pm = PricingModel(
            pk=self.catalog_id(PricingModel),
            code=code,
            title=f"{title} · {quality}",
            price=as_decimal(price, currency),
            currency=currency,
            is_recurring=offer.recurring,
            recurrence_unit=offer.unit,
            recurrence_count=offer.count or None,
            rental_hours=offer.rental_hours,
            quality=quality,
            grant_all_devices=not devices,
            device_types=devices,
            trial_days=offer.trial_days,
        )
        return pm, offer

    def make_coupons(self):
        rng = self.rng
        existing = {code.lower() for code in Coupon.objects.values_list("code", flat=True)}
        tag = CodeSequence(
            rng, Coupon, "code", "ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 6, prefix_length=1
        )
        coupons, self.coupons = [], []
        for n in range(min(max(4, self.n_purchases // 20000), 60)):
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
                valid_from = self.start + rng.randrange(0, HISTORY_DAYS - 60) * DAY
                if rng.random() < 0.6:
                    valid_until = valid_from + rng.randrange(14, 365) * DAY
            products = None
            if rng.random() < 0.3:
                products = set(p.id for p in rng.sample(self.products, min(4, len(self.products))))
            self.coupons.append(
                CouponInfo(0, code, percent, amount, currency, valid_from, valid_until, products)
            )
            coupons.append(
                Coupon(
                    pk=self.catalog_id(Coupon),
                    code=code,
                    description=f"{percent}% off" if percent else f"{amount} {currency} off",
                    discount_type="percent" if percent else "fixed",
                    percent=Decimal(percent) if percent else None,
                    amount=as_decimal(amount, currency) if amount else None,
                    currency=currency,
                    valid_from=as_datetime(valid_from) if valid_from else None,
                    valid_until=as_datetime(valid_until) if valid_until else None,
                    applies_to_all=products is None,
                )
            )
        Coupon.objects.bulk_create(coupons)
        for info, coupon in zip(self.coupons, coupons, strict=True):
            info.id = coupon.pk
            if info.products:
                coupon.subscriptions.set(sorted(info.products))
        self.coupon_rows = coupons

    # -- people and money --
    def run(self):
        rng = self.rng
        catalog = self.make_catalog()
        self.ids = {model: next_id(model) for model in TABLES}
        self.code = {
            model: CodeSequence(rng, model, "code", CODE_ALPHABET, 8)
            for model in (Buyer, Access, Purchase, RecurringContract, Refund)
        }
        self.access_hash = CodeSequence(rng, Access, "hash", ACCESS_HASH_ALPHABET, 12)
        self.pnref_codes = CodeSequence(
            rng, SandboxCharge, "pnref", "0123456789ABCDEF", 20, prefix_length=4
        )
        self.pnref_number = 0
        self.tx_charges = {}  # contract transaction id -> its sandbox charge id
        self.numbers = dict.fromkeys(self.code, 0)
        self.taken_emails = (
            {e.lower() for e in Buyer.objects.exclude(email="").values_list("email", flat=True)}
            if Buyer.objects.exists()
            else set()
        )
        self.pin_hash = make_password("1234", salt="generatedpinsalt")
        self.checkout = reverse("sandbox_checkout", kwargs={"pnref": "PNREF"})

        plan = self.plan()
        # Most buyers buy a few times, some often (capped: one buyer cannot hold every product).
        weights = [min(rng.paretovariate(1.6), 12.0) for _ in range(self.n_buyers)]
        cumulative, total = [], 0.0
        for w in weights:
            total += w
            cumulative.append(total)
        per_buyer = [[] for _ in range(self.n_buyers)]
        for kind in plan:
            b = bisect.bisect_left(cumulative, rng.random() * total)
            per_buyer[min(b, self.n_buyers - 1)].append(kind)
        # From here until close() only the writer uses the database connection.
        writer = self.writer = RowWriter()
        done, carried = 0, []
        try:
            for b, kinds in enumerate(per_buyer):
                # A purchase a buyer could not make (holding every product on sale then) goes
                # to the next buyer.
                carried = self.buyer(carried + kinds)
                writer.flush_if_full()
                done += len(kinds)
                if b % 2000 == 0:
                    self.progress(done, self.n_purchases)
            writer.flush()
        finally:
            writer.abandon() if sys.exc_info()[0] else writer.close()
        self.progress(self.n_purchases, self.n_purchases)
        self.finish()
        rows = {model._meta.verbose_name_plural: n for model, n in writer.written.items()}
        rows.update(catalog)
        rows["coupons"] = len(self.coupons)
        return rows

    def plan(self):
        """The purchases' fates, in exact numbers, shuffled: recurring paid ones (one contract
        each) completed, cancelling, cancelled or refunded; one-time paid ones completed, partly
        or wholly refunded; failed; pending (the last half hour's)."""
        n, c = self.n_purchases, min(self.n_contracts, self.n_purchases)
        pending = min(max(1, n // 35000), n)
        failed = max(1, n * 7 // 100) if n > 10 else 0
        one_time = max(0, n - c - pending - failed)
        c = n - pending - failed - one_time
        plan = ["pending"] * pending + ["failed"] * failed
        shares = (("r_cancelling", 6), ("r_cancelled", 18), ("r_refunded", 6), ("r_past_due", 3))
        for name, share in shares:
            plan += [name] * (max(1, c * share // 100) if c >= 8 else 0)
        plan += ["r_completed"] * (c - (len(plan) - pending - failed))
        for name, share in (("refunded", 3), ("part_refunded", 2)):
            plan += [name] * (max(1, one_time * share // 100) if one_time >= 10 else 0)
        plan += ["completed"] * (n - len(plan))
        self.rng.shuffle(plan)
        return plan

    def next(self, model):
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    def new_code(self, model):
        number = self.numbers[model]
        self.numbers[model] = number + 1
        return self.code[model](number)

    def buyer(self, kinds):
        rng = self.rng
        buyer_id = self.next(Buyer)
        created = self.start - 60 * DAY + int(rng.random() * (HISTORY_DAYS * DAY))
        created = min(created, self.now - 2 * 3600)
        roll = rng.random()
        if roll < 0.15:
            first, first_latin = rng.choice(CYRILLIC)
            last, last_latin = rng.choice(CYRILLIC_LAST)
        elif roll < 0.25:
            first = first_latin = rng.choice(JAPANESE)
            last = last_latin = rng.choice(JAPANESE_LAST)
        else:
            first = first_latin = rng.choice(LATIN_FIRST.split())
            last = last_latin = rng.choice(LATIN_LAST.split())
        name = "" if rng.random() < 0.03 else f"{first} {last}"
        roll = rng.random()
        phone = ""
        if roll < 0.25:
            country = rng.choice(["+7", "+49", "+33", "+81", "+1"])
            digits = f"{rng.randint(200, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
            phone = f"{country} {digits}"
        email = ""
        if roll >= 0.06 or not phone:
            local = ascii_only(f"{first_latin}.{last_latin}".lower())
            email = f"{local}.{buyer_id}@{rng.choice(DOMAINS)}"
            while email.lower() in self.taken_emails:
                email = "x" + email
        self.writer.add(
            Buyer,
            (
                buyer_id,
                self.new_code(Buyer),
                email,
                phone,
                name,
                self.ts(created),
                self.pin_hash if rng.random() < 0.1 else "",
                0,
                None,
            ),
        )
        state = BuyerState(buyer_id, created)
        # In time order; a pending purchase (the last half hour's) after all the others.
        settled = [kind for kind in kinds if kind != "pending"]
        times = sorted(created + int(rng.random() * (self.now - created)) for _ in settled)
        pending = len(kinds) - len(settled)
        times += [self.now - rng.randrange(60, (PENDING_MINUTES - 5) * 60) for _ in range(pending)]
        unplaced = []
        for kind, t in zip(settled + ["pending"] * pending, times, strict=True):
            if not self.purchase(state, kind, max(t, created + 60)):
                unplaced.append(kind)
        if rng.random() < 0.08 and self.granted_only:
            self.staff_grant(state)
        if rng.random() < 0.1:
            self.abandoned_session(state)
        if rng.random() < 0.15:  # a top-up not (yet) spent
            currency = rng.choice(CURRENCIES)
            state.wallet.append(
                (
                    created + int(rng.random() * (self.now - created)),
                    "top_up",
                    price_in(currency, rng.choice([1000, 2000, 5000])),
                    currency,
                    "Top-up by card",
                    "",
                )
            )
        if state.wallet and rng.random() < 0.1:
            t, _, _, currency, _, _ = rng.choice(state.wallet)
            amount = price_in(currency, rng.choice([100, 500, -100]))
            state.wallet.append(
                (
                    min(t + DAY, self.now - 60),
                    "adjustment",
                    amount,
                    currency,
                    "Goodwill correction",
                    "",
                )
            )
        self.write_wallet(state)
        return unplaced

    # A buyer's products: subscription id -> until when the buyer holds it (None: no end).
    def _free(self, state, product, t):
        until = state.holding.get(product.id, 0)
        return until is not None and until <= t

    def choose(self, state, t, recurring):
        rng = self.rng
        for attempt in range(12):
            pool = self.sellable if attempt < 10 else self.evergreen
            product = rng.choice(pool)
            if not product.on_sale(t) or not self._free(state, product, t):
                continue
            offers = (
                [o for o in product.offers if o.recurring == recurring]
                if recurring is not None
                else product.offers
            )
            if offers:
                return product, rng.choice(offers)
        for product in self.evergreen:
            if product.on_sale(t) and self._free(state, product, t):
                offers = [
                    o for o in product.offers if recurring is None or o.recurring == recurring
                ]
                return product, offers[0]
        return None, None

    def coupon_for(self, product, offer, t):
        if offer.trial_days or self.rng.random() > 0.12:
            return None, 0
        coupon = self.rng.choice(self.coupons)
        if (
            (coupon.valid_from is not None and t < coupon.valid_from)
            or (coupon.valid_until is not None and t >= coupon.valid_until)
            or (coupon.products is not None and product.id not in coupon.products)
            or (coupon.amount is not None and coupon.currency != offer.currency)
        ):
            return None, 0
        if coupon.percent is not None:
            discount = int(
                (Decimal(offer.price) * coupon.percent / 100).quantize(Decimal(1), "ROUND_HALF_UP")
            )
        else:
            discount = coupon.amount
        if offer.recurring and discount >= offer.price:
            # A contract of nothing a period could not be renewed (gateways refuse to charge 0).
            return None, 0
        return coupon, min(discount, offer.price)

    def purchase(self, state, kind, t):
        rng = self.rng
        recurring = (
            True
            if kind.startswith("r_")
            else (False if kind in ("completed", "refunded", "part_refunded") else None)
        )
        product, offer = self.choose(state, t, recurring)
        if product is None:
            return False
        if kind == "pending" and state.pending:
            kind = "failed"
        paid = kind not in ("pending", "failed")
        coupon, discount = self.coupon_for(product, offer, t)
        # Payment: the e-wallet, a stored card, or a redirect gateway (WebPay is one-time only).
        if paid:
            payment = rng.choices(
                [WALLET, CARD, "sandbox_paypal", "sandbox_worldpay", "sandbox_webpay"],
                [22, 50, 14, 9, 5],
            )[0]
        else:
            payment = rng.choices(
                [CARD, "sandbox_paypal", "sandbox_worldpay", "sandbox_webpay"], [65, 17, 10, 8]
            )[0]
        if kind == "pending":  # a card answers at once: what waits is a payment page
            payment = rng.choice(REDIRECTS)
        if offer.recurring and (
            payment == "sandbox_webpay" or (payment == WALLET and kind == "r_past_due")
        ):
            payment = "sandbox_paypal" if kind == "pending" else CARD
        redirect = payment in REDIRECTS
        trial_ends = None
        if offer.recurring and offer.trial_days and not redirect:
            trial_ends = t + offer.trial_days * DAY
            coupon, discount = None, offer.price
        if kind == "r_refunded" and offer.price - discount == 0:
            kind = "r_cancelled"
        if kind in ("refunded", "part_refunded") and offer.price - discount < 2:
            kind = "completed"
        amount = offer.price - discount
        if amount == 0 and trial_ends is None:
            if paid:  # free: completed from the e-wallet, nothing debited (gateways charge > 0)
                payment, redirect = WALLET, False
            else:
                coupon, discount, amount = None, 0, offer.price
        cur = offer.currency
        purchase_id, code = self.next(Purchase), self.new_code(Purchase)
        instrument = gateway_ref = auth = result = message = redirect_url = ""
        return_url = cancel_url = ""
        completed = t + (rng.randrange(20, 600) if redirect else rng.randrange(1, 5))
        completed = max(t, min(completed, self.now))
        if redirect:
            return_url, cancel_url = (
                "https://shop.example.com/paid",
                "https://shop.example.com/cancelled",
            )
            gateway_ref = self.pnref()
            redirect_url = self.checkout.replace("PNREF", gateway_ref)
        if kind == "pending":
            state.pending = True
            status = "pending"
        elif kind == "failed":
            status = "failed"
            if redirect:
                result, message = rng.choice(
                    [
                        ("C", "Cancelled by the buyer"),
                        ("", "The buyer did not complete the payment in time."),
                    ]
                )
            else:
                instrument, result, message = rng.choice(DECLINES)
                gateway_ref = self.pnref()
        else:
            status = "completed"
            if payment == WALLET:
                result, message = "0", "Paid from the e-wallet"
                if amount:
                    state.wallet.append((completed, "purchase", -amount, cur, "", code))
            elif trial_ends is None or redirect:
                result, message, auth = "0", "Approved", f"{rng.randrange(10**6):06d}"
                if not redirect:
                    instrument, gateway_ref = "tok_approve", self.pnref()
            else:
                instrument = "tok_approve"
        charge_id = None
        if payment != WALLET and (trial_ends is None or redirect):
            if kind == "pending":
                charge = ("pending", "", "")  # the buyer is on the payment page
            elif kind == "failed":
                charge = (
                    ("cancelled", result or "V", "Cancelled by the buyer" if result else "Expired")
                    if redirect
                    else ("declined", result, message)
                )
            else:
                charge = ("approved", "0", "Approved")
            charge_id = self.sandbox(
                payment,
                f"purchase:{code}",
                "charge",
                gateway_ref,
                amount,
                cur,
                "" if redirect else instrument,
                *charge,
                auth,
                completed if paid else t,
                urls=(return_url, cancel_url),
            )
        access_id = None
        if paid:
            if coupon is not None:
                coupon.uses += 1
            access_id, access = self.new_access(state, product, offer, completed, trial_ends)
        events = []  # (refund row, cancellation) writes that follow the purchase's row
        contract = None
        if paid and offer.recurring:
            status, contract = self.contract(
                state,
                kind,
                purchase_id,
                product,
                offer,
                access,
                completed,
                trial_ends,
                amount,
                discount,
                payment,
                instrument or gateway_ref,
                code,
                events,
            )
        elif kind in ("refunded", "part_refunded"):
            whole = kind == "refunded"
            when = completed + rng.randrange(3600, max(3601, min(30 * DAY, self.now - completed)))
            when = max(completed, min(when, self.now - 300))
            parts = [amount] if whole else [amount // 2]
            if whole and rng.random() < 0.2:
                parts = [amount // 2, amount - amount // 2]
            reason = rng.choice(REFUND_REASONS)
            for n, part in enumerate(parts):
                events.append(("refund", min(when + n * 60, self.now), part, None, reason))
            if whole:
                status = "refunded"
                access["revoked"] = when
        self.statuses[status] += 1
        session_id = None
        if rng.random() < 0.35:  # opened through a purchase session (reference 000)
            coupon_discount = 0 if trial_ends else discount  # a session quotes before any trial
            session_id = self.session(
                state, product, offer, t, coupon, coupon_discount, completed if paid else None
            )
        self.writer.add(
            Purchase,
            (
                purchase_id,
                code,
                state.buyer_id,
                product.id,
                offer.pricing_model_id,
                session_id,
                self.money(offer.price, cur),
                self.money(discount, cur),
                self.purchase_amount(offer.price, discount, cur),
                cur,
                coupon.id if coupon else None,
                coupon.code if coupon else "",
                offer.recurring,
                payment,
                instrument,
                status,
                gateway_ref,
                auth,
                result,
                message,
                redirect_url,
                return_url,
                cancel_url,
                access_id,
                None,
                self.ts(t),
                self.ts(completed) if paid else None,
                self.ts(t + PENDING_MINUTES * 60),
                self.ts(trial_ends),
            ),
        )
        if access_id is not None:
            self.write_access(state, access)
        if contract is not None:
            self.writer.add(RecurringContract, contract.pop("row"))
            for row in contract["transactions"]:
                self.writer.add(ContractTransaction, row)
        refund_id, refunds = None, 0
        for event in events:
            if event[0] == "refund":
                _, when, part, renewal_id, reason = event
                refund_id, refunds = self.next(Refund), refunds + 1
                pnref = "" if payment == WALLET else self.pnref()
                if payment != WALLET:
                    original = self.tx_charges[renewal_id] if renewal_id else charge_id
                    self.sandbox(
                        payment,
                        f"refund:{code}:{refunds}",
                        "refund",
                        pnref,
                        part,
                        cur,
                        "",
                        "approved",
                        "0",
                        "Refunded",
                        "",
                        when,
                        refund_of=original,
                    )
                self.writer.add(
                    Refund,
                    (
                        refund_id,
                        self.new_code(Refund),
                        purchase_id,
                        renewal_id,
                        self.money(part, cur),
                        cur,
                        payment,
                        pnref,
                        reason,
                        None,
                        self.ts(when),
                    ),
                )
                if payment == WALLET:
                    state.wallet.append((when, "refund", part, cur, "", code))
            else:
                _, when, mode, with_refund = event
                self.writer.add(
                    Cancellation,
                    (
                        self.next(Cancellation),
                        purchase_id,
                        mode,
                        refund_id if with_refund else None,
                        rng.random() < 0.6,
                        None,
                        self.ts(when),
                    ),
                )
        # The buyer holds the product until its access ends (or its revocation).
        end = access["revoked"] or access["expire"] if access_id is not None else None
        if access_id is not None:
            state.holding[product.id] = end
        return True

    def session(self, state, product, offer, t, coupon, discount, consumed):
        """A purchase session opened a little before `t` (still open then), used by the
        purchase when it completed; or, without `t`'s purchase, abandoned."""
        rng = self.rng
        opened = max(state.created, t - rng.randrange(5, (PENDING_MINUTES - 5) * 60))
        if product.kind == "collection":
            kind = "Collection"
        else:
            kind = "Subscription" if offer.recurring else rng.choice(["PPV", "PPV", "Subscription"])
        session_id = self.next(PurchaseSession)
        self.writer.add(
            PurchaseSession,
            (
                session_id,
                state.buyer_id,
                product.id,
                offer.pricing_model_id if rng.random() < 0.8 else None,
                None,
                kind,
                self.money(offer.price, offer.currency),
                self.money(discount, offer.currency),
                self.money(offer.price - discount, offer.currency),
                offer.currency,
                coupon.id if coupon else None,
                ip_address(rng.getrandbits(32)),
                f"udid-{rng.getrandbits(40):010x}" if rng.random() < 0.6 else "",
                "trailer" if rng.random() < 0.1 else "",
                self.ts(opened),
                self.ts(opened + PENDING_MINUTES * 60),
                self.ts(consumed),
            ),
        )
        return session_id

    def abandoned_session(self, state):
        t = state.created + int(self.rng.random() * (self.now - state.created))
        product = self.rng.choice(self.sellable)
        if product.on_sale(t):
            self.session(state, product, self.rng.choice(product.offers), t, None, 0, None)

    def new_access(self, state, product, offer, when, trial_ends):
        if offer.recurring:
            start, expire = when, trial_ends or period_end(offer, when, 1)
        elif offer.rental_hours:
            start, expire = when, when + offer.rental_hours * 3600
        else:
            start, expire = product.window(when)
        access = {
            "id": self.next(Access),
            "product": product,
            "start": start,
            "expire": expire,
            "purchased": when,
            "revoked": None,
        }
        return access["id"], access

    def write_access(self, state, access):
        rng = self.rng
        product = access["product"]
        limit = product.activation
        devices = 0
        visible_until = min(self.now, access["revoked"] or self.now, access["expire"] or self.now)
        first = max(access["start"], access["purchased"])
        if visible_until > first and rng.random() < 0.45:
            devices = rng.randint(1, 3)
            if limit is not None:
                devices = min(devices, limit)
            for _ in range(devices):
                self.writer.add(
                    AccessActivation,
                    (
                        self.next(AccessActivation),
                        access["id"],
                        f"{rng.choice(['web', 'ios', 'android', 'tv'])}-{rng.getrandbits(48):012x}",
                        ip_address(rng.getrandbits(32)),
                        self.ts(first + int(rng.random() * (visible_until - first))),
                    ),
                )
        number = self.numbers[Access]
        self.numbers[Access] = number + 1
        expire = access["expire"]
        start = access["start"]
        if expire is not None and start is not None and start >= expire:
            start = expire - 60
        self.writer.add(
            Access,
            (
                access["id"],
                self.code[Access](number),
                state.buyer_id,
                product.id,
                self.access_hash(number),
                limit,
                devices,
                self.ts(start),
                self.ts(expire),
                self.ts(access["purchased"]),
                None,
                "",
                False,
                self.ts(access["revoked"]),
                None,
                self.ts(access["purchased"]),
            ),
        )

    def staff_grant(self, state):
        rng = self.rng
        product = rng.choice(self.granted_only)
        # After any access the buyer had to it: staff do not grant what the buyer holds.
        low = max(state.created, product.created, state.holding.get(product.id) or 0)
        if low >= self.now - 60 or not self._free(state, product, self.now):
            return
        when = low + int(rng.random() * (self.now - 60 - low))
        access_id, access = self.new_access(state, product, Offer(0, "EUR", 0, False), when, None)
        if rng.random() < 0.1:
            access["revoked"] = min(self.now - 30, when + rng.randrange(60, 30 * DAY))
        self.write_access(state, access)
        state.holding[product.id] = access["revoked"] or access["expire"]

    def contract(
        self,
        state,
        kind,
        purchase_id,
        product,
        offer,
        access,
        t,
        trial_ends,
        amount,
        discount,
        payment,
        instrument,
        purchase_code,
        events,
    ):
        """The contract a recurring purchase starts and its renewals up to now, as the renewal
        engine would have run them; answers the purchase's status and the rows."""
        rng = self.rng
        contract_id, code = self.next(RecurringContract), self.new_code(RecurringContract)
        each = offer.price if trial_ends else amount
        anchor = trial_ends or t
        periods_paid = 0 if trial_ends else 1
        bill = anchor if trial_ends else period_end(offer, anchor, 1)
        status, failed, retry_at, ended = "active", 0, None, None
        cancel_at_period_end = False
        stop = self.now
        decline = rng.choice(DECLINES)
        cancel_at = None
        mode = None
        if kind in ("r_cancelling", "r_cancelled", "r_refunded"):
            cancel_at = t + int(rng.random() * (self.now - t))
            if kind == "r_refunded":
                cancel_at = min(cancel_at, bill - 60) if not trial_ends else cancel_at
                mode = "refund"
            elif kind == "r_cancelled":
                mode = rng.choice(["now", "now", "period_end"])
            else:
                mode = "period_end"
            if mode != "period_end":
                stop = cancel_at
        reliable = mode == "period_end" or payment == WALLET
        transactions, approved_charges = [], {}
        expire = access["expire"]
        while True:
            due = bill if status == "active" else retry_at
            if due > stop:
                break
            if (
                mode == "period_end"
                and status == "active"
                and kind == "r_cancelled"
                and due >= cancel_at
            ):
                status, ended = "expired", due  # stopped at the period's end
                break
            when = due + rng.randrange(0, 900)
            if when > self.now:
                break
            period, attempt = periods_paid + 1, failed + 1
            ok = reliable or rng.random() < (0.93 if attempt == 1 else 0.55)
            if kind == "r_past_due" and self.now - due < 11 * DAY:
                ok = False  # declined lately: in dunning now, or out of retries
            key = f"contract:{code}:period:{period}:attempt:{attempt}"
            tx_id = self.next(ContractTransaction)
            if ok:
                row_result = (
                    "approved",
                    self.pnref(),
                    "0",
                    "Approved" if payment != WALLET else "Paid from the e-wallet",
                    f"{rng.randrange(10**6):06d}" if payment != WALLET else "",
                )
                if payment == WALLET and each:
                    state.wallet.append((when, "purchase", -each, offer.currency, "", key))
                periods_paid, failed, retry_at, status = period, 0, None, "active"
                bill = period_end(offer, anchor, period)
                expire = bill
                approved_charges[period] = (tx_id, when)
            else:
                _, result, message = decline
                row_result = ("declined", self.pnref(), result, message, "")
                failed += 1
                if failed > len(RETRY_DAYS):
                    status, ended, retry_at = "expired", when, None
                    expire = max(when, access["start"])
                else:
                    status, retry_at = "past_due", when + RETRY_DAYS[failed - 1] * DAY
                    expire = max(expire, retry_at)
            transactions.append(
                (
                    tx_id,
                    contract_id,
                    period,
                    attempt,
                    key,
                    payment,
                    self.ts(when),
                    self.money(each, offer.currency),
                    self.money(0, offer.currency),
                    offer.currency,
                    row_result[0],
                    row_result[1] if payment != WALLET else "",
                    row_result[2],
                    row_result[3],
                    row_result[4],
                )
            )
            if payment != WALLET:
                # Cards renew by their token, PayPal and WorldPay under the first payment's
                # billing agreement (its PNRef, the contract's instrument).
                card = "tok_approve" if ok else decline[0]
                self.tx_charges[tx_id] = self.sandbox(
                    payment,
                    key,
                    "charge",
                    row_result[1],
                    each,
                    offer.currency,
                    card if payment == CARD else instrument,
                    *row_result[:1],
                    *row_result[2:4],
                    row_result[4],
                    when,
                )
            if status == "expired":
                break
        purchase_status = "completed"
        if kind == "r_cancelling":
            if status == "active" and bill > self.now:
                since = period_end(offer, anchor, periods_paid - 1) if periods_paid > 1 else t
                cancel_at = since + int(rng.random() * max(1, self.now - since))
                cancel_at = max(min(cancel_at, self.now - 1), t)
                cancel_at_period_end, purchase_status = True, "cancelling"
                events.append(("cancel", cancel_at, "period_end", False))
        elif kind == "r_cancelled" and mode == "period_end":
            if status == "expired":
                cancel_at_period_end, purchase_status = True, "cancelled"
                cancel_at = min(cancel_at, ended - 60)
                events.append(("cancel", max(cancel_at, t + 30), "period_end", False))
            elif bill > self.now:
                cancel_at_period_end, purchase_status = True, "cancelling"
                events.append(
                    ("cancel", min(max(cancel_at, t + 30), self.now - 30), "period_end", False)
                )
        elif kind in ("r_cancelled", "r_refunded"):
            when = max(cancel_at, t + 30)
            if transactions:
                when = (
                    max(when, max(approved_charges.values(), key=lambda v: v[1])[1] + 30)
                    if approved_charges
                    else when
                )
            when = min(when, self.now - 10)
            if status in ("active", "past_due"):
                status, ended = "cancelled", when
                retry_at = None
            access["revoked"] = when
            if kind == "r_refunded":
                purchase_status = "refunded"
                events.append(("refund", when, amount, None, rng.choice(REFUND_REASONS)))
            else:
                purchase_status = "cancelled"
                refund = rng.choice(["none", "none", "full", "prorated"])
                charge_id, paid_amount, since = None, amount, t
                if periods_paid in approved_charges:
                    charge_id, since = approved_charges[periods_paid]
                    paid_amount = each
                if periods_paid == 0:
                    paid_amount = 0
                give = 0
                if refund == "full":
                    give = paid_amount
                elif refund == "prorated" and paid_amount:
                    start = (
                        period_end(offer, anchor, periods_paid - 1) if periods_paid > 1 else since
                    )
                    end = period_end(offer, anchor, periods_paid)
                    left = max(0, end - when) / max(1, end - start)
                    give = int(paid_amount * left)
                if give > 0:
                    events.append(("refund", when, give, charge_id, f"Cancelled: {refund} refund"))
                events.append(("cancel", when, "now", give > 0))
        if status in ("past_due",) or (status == "expired" and failed > len(RETRY_DAYS)):
            instrument_now = decline[0] if payment == CARD else instrument
        else:
            instrument_now = instrument if payment != CARD else "tok_approve"
        if payment == WALLET:
            instrument_now = ""
        access["expire"] = expire
        row = (
            contract_id,
            code,
            purchase_id,
            state.buyer_id,
            product.id,
            offer.pricing_model_id,
            access["id"],
            self.money(each, offer.currency),
            offer.currency,
            payment,
            instrument_now,
            offer.unit,
            offer.count,
            self.ts(anchor),
            periods_paid,
            self.ts(bill),
            self.ts(retry_at) if status == "past_due" else None,
            failed if status in ("past_due", "expired") else 0,
            cancel_at_period_end,
            status,
            None,
            self.ts(t),
            self.ts(ended),
        )
        return purchase_status, {"row": row, "transactions": transactions}

    def write_wallet(self, state):
        """The buyer's ledger in time order with running balances; a top-up is posted before a
        payment the balance cannot cover, an adjustment down only when the balance allows."""
        if not state.wallet:
            return
        rng = self.rng
        balances, last, previous = {}, {}, state.created
        for when, kind, amount, currency, reason, reference in sorted(
            state.wallet, key=lambda e: e[0]
        ):
            balance = balances.get(currency, 0)
            if kind == "adjustment" and balance + amount < 0:
                continue
            if kind == "purchase" and balance + amount < 0:
                top_up = max(-amount - balance, price_in(currency, rng.choice([1000, 2000, 5000])))
                balance += top_up
                at = max(previous, when - rng.randrange(60, 3600))
                self.writer.add(
                    WalletEntry,
                    (
                        self.next(WalletEntry),
                        state.buyer_id,
                        "top_up",
                        self.money(top_up, currency),
                        currency,
                        self.money(balance, currency),
                        "Top-up by card",
                        "",
                        None,
                        self.ts(at),
                    ),
                )
            balance += amount
            balances[currency], last[currency], previous = balance, when, when
            self.writer.add(
                WalletEntry,
                (
                    self.next(WalletEntry),
                    state.buyer_id,
                    kind,
                    self.money(amount, currency),
                    currency,
                    self.money(balance, currency),
                    reason,
                    reference,
                    None,
                    self.ts(when),
                ),
            )
        for currency, balance in balances.items():
            self.writer.add(
                WalletBalance,
                (
                    self.next(WalletBalance),
                    state.buyer_id,
                    currency,
                    self.money(balance, currency),
                    self.ts(last[currency]),
                ),
            )

    def finish(self):
        """Coupon use counts, identity sequences after the explicit ids, planner statistics."""
        for info, coupon in zip(self.coupons, self.coupon_rows, strict=True):
            coupon.uses = info.uses
            if self.rng.random() < 0.4:
                coupon.use_limit = info.uses + self.rng.randrange(0, 50)
        Coupon.objects.bulk_update(self.coupon_rows, ["uses", "use_limit"])
        if self.postgres:
            with connection.cursor() as cursor:
                for model in [*TABLES, Media, PricingModel, Subscription, Coupon]:
                    table = model._meta.db_table
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"coalesce((SELECT max(id) FROM {table}), 1))"
                    )


def period_end(offer, anchor, periods):
    """purchases.recurrence.period_end on epoch seconds (month ends clamped the same way)."""
    if offer.unit == "days":
        return anchor + offer.count * periods * DAY
    if offer.unit == "weeks":
        return anchor + offer.count * periods * 7 * DAY
    start = as_datetime(anchor)
    months = offer.count * periods * (12 if offer.unit == "years" else 1)
    return int((start + relativedelta(months=months)).timestamp())


class BuyerState:
    __slots__ = ("buyer_id", "created", "holding", "pending", "wallet")

    def __init__(self, buyer_id, created):
        self.buyer_id, self.created = buyer_id, created
        self.holding, self.pending, self.wallet = {}, False, []


def loaded_tables_we_own(cursor) -> list[str]:
    """The loaded tables' names when this database user owns them all (and so may drop their
    keys and indexes for the load), else none."""
    tables = [model._meta.db_table for model in TABLES]
    cursor.execute(
        "SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class "
        "WHERE relname = ANY(%s) AND relkind = 'r'",
        [tables],
    )
    return tables if cursor.fetchone()[0] else []


def drop_foreign_keys():
    """The loaded tables' foreign keys, dropped for the load when we own the tables (as
    pg_restore does): checked row by row they cost more than the rest of the load; re-adding
    them checks every row at once, in the same transaction. Answers what to re-add."""
    with connection.cursor() as cursor:
        tables = loaded_tables_we_own(cursor)
        if not tables:
            return []
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) "
            "ORDER BY 1, 2",
            [tables],
        )
        dropped = cursor.fetchall()
        for table, name, _ in dropped:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return dropped


def drop_secondary_indexes():
    """The loaded tables' non-unique indexes, dropped for the load when we own the tables (as
    pg_restore builds indexes after the data): building one from the loaded rows is several
    times faster than keeping it up to date row by row, above all the trigram (GIN) indexes.
    Unique indexes stay, so the load is still checked. Answers the definitions to re-create."""
    with connection.cursor() as cursor:
        tables = loaded_tables_we_own(cursor)
        if not tables:
            return []
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisunique "
            "AND NOT i.indisprimary ORDER BY 1",
            [tables],
        )
        dropped = cursor.fetchall()
        for name, _ in dropped:
            cursor.execute(f"DROP INDEX {name}")
    return dropped


def restore_indexes(dropped):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in dropped:
            cursor.execute(definition)


def restore_foreign_keys(dropped):
    with connection.cursor() as cursor:
        for table, name, definition in dropped:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def generate_data(
    *, purchases, buyers=None, contracts=None, seed=0, now=None, append=False, progress=None
):
    """Write a shop's worth of realistic data; refuses (ShopHasPurchases, nothing written) a
    database that has purchases unless `append`. Answers the rows written per table, the
    purchases per status and the seconds taken."""
    if purchases < 1:
        raise ValueError("Give at least one purchase.")
    if Purchase.objects.exists() and not append:
        raise ShopHasPurchases(
            "This database already has purchases; use --append to add generated data to them."
        )
    buyers = buyers or max(1, purchases // 5)
    contracts = purchases // 20 if contracts is None else contracts
    now = (now or timezone.now()).replace(microsecond=0)
    started = time.perf_counter()
    generator = Generator(
        purchases=purchases,
        buyers=buyers,
        contracts=contracts,
        seed=seed,
        now=now,
        progress=progress,
    )
    with transaction.atomic():
        dropped = []
        if generator.postgres:
            with connection.cursor() as cursor:
                # Foreign keys checked per statement: the batches are written parents first.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            dropped = drop_foreign_keys()
            dropped_indexes = drop_secondary_indexes()
        rows = generator.run()
        if generator.postgres:
            restore_indexes(dropped_indexes)
        restore_foreign_keys(dropped)
    if generator.postgres:
        with connection.cursor() as cursor:
            for model in TABLES:
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    return Counts(rows=rows, statuses=generator.statuses, seconds=time.perf_counter() - started)
