"""One run of the generator: its shared state (`Run`), the plan of the purchases' fates, the
buyers drawn one after another, and `generate_data`, which does it all in one transaction."""

import bisect
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from buyers.models import ACCESS_HASH_ALPHABET, Access, Buyer, phone_key_of
from core.codes import CODE_ALPHABET
from subscriptions.models import Coupon, Media, PricingModel, Subscription

from ..journal.models import JournalDay, JournalEntry, JournalShopDay
from ..journal.sources import book_from_sources
from ..models import Purchase, RecurringContract, Refund
from . import load
from .buyers import generate_buyer
from .catalog import CURRENCIES, count_coupon_uses, make_catalog
from .codes import CodeSequence
from .gateway import SandboxLedger
from .values import DAY, DatabaseText

HISTORY_DAYS = 730


class ShopHasPurchases(Exception):
    """The database already holds purchases and appending was not asked for."""


@dataclass
class Counts:
    """How many rows of each kind were written (purchases by status)."""

    rows: dict = field(default_factory=dict)
    statuses: dict = field(default_factory=dict)
    seconds: float = 0.0


class Run:
    """What every part of the generator shares: the one seeded random generator (so the same
    seed, `now` and starting database give the same rows), the clock in epoch seconds, the
    settings the product's rules read, the writer, explicit ids and public codes."""

    history_days = HISTORY_DAYS

    def __init__(self, *, purchases, buyers, contracts, seed, now, progress):
        self.n_purchases, self.n_buyers, self.n_contracts = purchases, buyers, contracts
        self.rng = random.Random(seed)
        self.now = int(now.timestamp())
        self.start = self.now - HISTORY_DAYS * DAY
        self.progress = progress or (lambda done, total: None)
        self.postgres = connection.vendor == "postgresql"
        self.text = DatabaseText(postgres=self.postgres, currencies=CURRENCIES)
        self.statuses = dict.fromkeys(Purchase.Status.values, 0)
        self.retry_days = tuple(settings.RENEWAL_RETRY_DAYS)
        self.pending_minutes = settings.PENDING_PURCHASE_MINUTES
        self.session_minutes = settings.PURCHASE_SESSION_MINUTES

    def new_id(self, model):
        value = self.ids[model]
        self.ids[model] = value + 1
        return value

    def new_number(self, model):
        number = self.numbers[model]
        self.numbers[model] = number + 1
        return number

    def new_code(self, model):
        return self.codes[model](self.new_number(model))

    def generate(self):
        """The catalog, then every buyer with their history; answers the rows per table."""
        rng = self.rng
        with ThreadPoolExecutor(max_workers=1) as beside:
            # The buyers' PIN hash is half a second of key stretching, which leaves the
            # interpreter free: it is worked out while the catalog is written.
            pin_hash = beside.submit(make_password, "1234", salt="generatedpinsalt")
            self.catalog = make_catalog(self)
            self.ids = {model: load.first_free_id(model) for model in load.LOADED}
            self.codes = {
                model: CodeSequence(rng, model, "code", CODE_ALPHABET, 8)
                for model in (Buyer, Access, Purchase, RecurringContract, Refund)
            }
            self.access_hash = CodeSequence(rng, Access, "hash", ACCESS_HASH_ALPHABET, 12)
            self.ledger = SandboxLedger(self)
            self.numbers = dict.fromkeys(self.codes, 0)
            self.taken_emails = (
                {e.lower() for e in Buyer.objects.exclude(email="").values_list("email", flat=True)}
                if Buyer.objects.exists()
                else set()
            )
            self.taken_phones = {
                phone_key_of(phone)
                for phone in Buyer.objects.exclude(phone="").values_list("phone", flat=True)
            }
            self.checkout_url = reverse("sandbox_checkout", kwargs={"pnref": "PNREF"})
            per_buyer = self.share_out(self.plan())
            self.pin_hash = pin_hash.result()
        # From here until close() only the writer uses the database connection.
        writer = self.writer = load.RowWriter()
        done, carried = 0, []
        try:
            for b, kinds in enumerate(per_buyer):
                # A purchase a buyer could not make (holding every product on sale then) goes
                # to the next buyer.
                carried = generate_buyer(self, carried + kinds)
                writer.flush_if_full()
                done += len(kinds)
                if b % 2000 == 0:
                    self.progress(done, self.n_purchases)
            writer.flush()
        finally:
            writer.abandon() if sys.exc_info()[0] else writer.close()
        self.progress(self.n_purchases, self.n_purchases)
        count_coupon_uses(rng, self.catalog)
        if self.postgres:
            load.reset_sequences([*load.LOADED, Media, PricingModel, Subscription, Coupon])
        rows = {model._meta.verbose_name_plural: n for model, n in writer.written.items()}
        rows.update(self.catalog.counts)
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

    def share_out(self, plan):
        """The planned purchases per buyer: most buyers buy a few times, some often (capped:
        one buyer cannot hold every product)."""
        rng = self.rng
        weights = [min(rng.paretovariate(1.6), 12.0) for _ in range(self.n_buyers)]
        cumulative, total = [], 0.0
        for w in weights:
            total += w
            cumulative.append(total)
        per_buyer = [[] for _ in range(self.n_buyers)]
        for kind in plan:
            b = bisect.bisect_left(cumulative, rng.random() * total)
            per_buyer[min(b, self.n_buyers - 1)].append(kind)
        return per_buyer


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
    run = Run(
        purchases=purchases,
        buyers=buyers,
        contracts=contracts,
        seed=seed,
        now=now,
        progress=progress,
    )
    with transaction.atomic():
        dropped_keys = dropped_indexes = []
        if run.postgres:
            with connection.cursor() as cursor:
                # Foreign keys checked per statement: the batches are written parents first.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            dropped_keys = load.drop_foreign_keys()
            dropped_indexes = load.drop_secondary_indexes()
        rows = run.generate()
        load.restore_indexes(dropped_indexes)
        load.restore_foreign_keys(dropped_keys)
        # The money journal, booked from the rows just written, as the services book them (the
        # same seed and `now` give the same codes).
        rows[JournalEntry._meta.verbose_name_plural] = book_from_sources(
            seed=f"generate_data:{seed}:{now.isoformat()}"
        )
    if run.postgres:
        load.analyze((*load.LOADED, JournalEntry, JournalDay, JournalShopDay))
    return Counts(rows=rows, statuses=run.statuses, seconds=time.perf_counter() - started)
