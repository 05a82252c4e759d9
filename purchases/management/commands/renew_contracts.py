from django.core.management.base import BaseCommand

from purchases.renewals import renew_due_contracts


class Command(BaseCommand):
    help = "Charge every recurring contract that is due now, once (what the beat job runs)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size, **options):
        run = renew_due_contracts(batch_size=batch_size)
        self.stdout.write(
            f"claimed {run.claimed}, renewed {run.renewed}, declined {run.declined}, "
            f"expired {run.expired}, unresolved {run.unresolved}, batches {run.batches}"
        )
