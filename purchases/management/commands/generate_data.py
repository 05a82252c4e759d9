"""`manage.py generate_data --purchases N`: a realistic shop at any scale."""

import sys
import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from purchases.generator import ShopHasPurchases, generate_data


def progress_line(stream):
    """A self-updating progress line on `stream` (the whole bar only on a terminal)."""
    started = time.monotonic()
    interactive = stream.isatty()
    state = {"shown": -1}

    def show(done, total):
        percent = done * 100 // max(total, 1)
        if percent == state["shown"] or (not interactive and percent % 10 and done < total):
            return
        state["shown"] = percent
        bar = "#" * (percent // 4) + "-" * (25 - percent // 4)
        text = f"purchases [{bar}] {done:,}/{total:,} {percent}% {time.monotonic() - started:.0f} s"
        stream.write(("\r" + text) if interactive else text + "\n")
        if interactive and done >= total:
            stream.write("\n")
        stream.flush()

    return show


class Command(BaseCommand):
    help = (
        "Generate realistic, reproducible shop data: catalog, buyers, accesses, wallets, "
        "purchases over two years, recurring contracts with their renewals."
    )

    def add_arguments(self, parser):
        parser.add_argument("--purchases", type=int, required=True, help="How many purchases.")
        parser.add_argument("--seed", type=int, default=0, help="Same seed, same data (0).")
        parser.add_argument("--buyers", type=int, help="How many buyers (default: purchases/5).")
        parser.add_argument(
            "--contracts", type=int, help="How many recurring contracts (default: purchases/20)."
        )
        parser.add_argument(
            "--now",
            help="The moment the history ends, ISO 8601 (default: now); fix it to get the "
            "very same rows again.",
        )
        parser.add_argument(
            "--append", action="store_true", help="Add to a database that already has purchases."
        )

    def handle(self, *args, **options):
        now = None
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError:
                raise CommandError("--now: give an ISO 8601 date and time.") from None
            if now.tzinfo is None:
                raise CommandError("--now: give a time zone, like 2026-01-31T12:00:00+00:00.")
        if options["purchases"] < 1:
            raise CommandError("--purchases: give at least 1.")
        for name in ("buyers", "contracts"):
            if options[name] is not None and options[name] < (1 if name == "buyers" else 0):
                raise CommandError(f"--{name}: give a positive number.")
        try:
            counts = generate_data(
                purchases=options["purchases"],
                buyers=options["buyers"],
                contracts=options["contracts"],
                seed=options["seed"],
                now=now,
                append=options["append"],
                progress=progress_line(sys.stderr),
            )
        except ShopHasPurchases as refusal:
            raise CommandError(str(refusal)) from None
        for table, rows in counts.rows.items():
            self.stdout.write(f"{rows:>10,} {table}")
        statuses = ", ".join(f"{status} {n:,}" for status, n in counts.statuses.items())
        self.stdout.write(f"Purchases by status: {statuses}")
        self.stdout.write(self.style.SUCCESS(f"Generated in {counts.seconds:.1f} s."))
