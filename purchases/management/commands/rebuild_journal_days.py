from django.conf import settings
from django.core.management.base import BaseCommand

from purchases.journal.days import days_differences, rebuild_days


class Command(BaseCommand):
    help = (
        "Recompute the money journal's daily totals in the shop's time zone (after "
        "SHOP_TIME_ZONE changed), or with --check only tell whether they equal the journal."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Compare with the journal, change nothing."
        )

    def handle(self, *args, check, **options):
        if check:
            differences = days_differences()
            for key, stored, booked in differences[:20]:
                day, currency, kind, payment_type, *subscription = key
                of = f"subscription {subscription[0] or '-'}" if subscription else "the shop"
                self.stdout.write(
                    f"{day} {currency} {kind} {payment_type} of {of}: "
                    f"daily totals {_figures(stored)}, journal {_figures(booked)}"
                )
            if differences:
                self.stderr.write(f"{len(differences)} day(s) differ from the journal.")
                raise SystemExit(1)
            self.stdout.write("The daily totals equal the journal.")
            return
        days = rebuild_days()
        self.stdout.write(f"{days} daily totals rebuilt in {settings.TIME_ZONE}.")


def _figures(total) -> str:
    return "none" if total is None else f"{total[0]} in {total[1]} entries"
