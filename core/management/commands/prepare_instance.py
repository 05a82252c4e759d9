import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Migrate, and on the first start (no user yet) create the admin account and load demo "
        "data. Prints the admin's password once. Safe to run on every start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="the URL to print")
        parser.add_argument("--no-demo", action="store_true", help="do not load demo data")

    def handle(self, *args, url, no_demo, **options):
        call_command("migrate", interactive=False, verbosity=0)
        User = get_user_model()
        if not User.objects.exists():
            password = secrets.token_urlsafe(12)
            with transaction.atomic():
                User.objects.create_superuser("admin", "admin@example.com", password)
                self.stdout.write(
                    self.style.SUCCESS("First start: accounts created (shown only now):")
                )
                self.stdout.write(f"  {'Admin':<11} user: {'admin':<9} password: {password}")
                if not no_demo:
                    call_command("load_demo_data", stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Open {url} and sign in."))
        self.stdout.write(
            "Lost a password? Set a new one: .venv/bin/python manage.py changepassword <user name>"
        )
