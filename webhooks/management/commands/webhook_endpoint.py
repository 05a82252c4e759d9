"""`manage.py webhook_endpoint add URL --events purchase.completed access.granted` (or `--events
'*'`), `list`, `disable CODE`, `enable CODE`, `rotate CODE [--keep-old-hours N]`: the Webhooks
page's changes from a shell. `add` and `rotate` print the signing secret once."""

from django.core.management.base import BaseCommand, CommandError

from core.events import EVENT_TYPES

from ... import services
from ...errors import WebhookError
from ...models import WebhookEndpoint


class Command(BaseCommand):
    help = "Add, list, disable or enable webhook endpoints."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="Add an endpoint; prints its signing secret once.")
        add.add_argument("url")
        add.add_argument(
            "--events",
            nargs="+",
            required=True,
            help=f"Event types, or '*' for all: {', '.join(EVENT_TYPES)}.",
        )
        add.add_argument("--description", default="")
        actions.add_parser("list", help="List endpoints (never their secrets).")
        for name in ("disable", "enable"):
            action = actions.add_parser(name, help=f"{name.capitalize()} an endpoint.")
            action.add_argument("code")
        rotate = actions.add_parser(
            "rotate", help="A new signing secret; prints it once. The old one signs meanwhile."
        )
        rotate.add_argument("code")
        rotate.add_argument(
            "--keep-old-hours",
            type=int,
            default=24,
            help="Hours the old secret keeps signing too (0: stop now). Default 24.",
        )

    def handle(self, *args, action, **options):
        try:
            return getattr(self, f"do_{action}")(**options)
        except WebhookError as refusal:
            raise CommandError(refusal.message) from None

    def do_add(self, *, url, events, description, **options):
        types = [t for value in events for t in value.split(",")]
        endpoint = services.create_endpoint(url=url, event_types=types, description=description)
        self.stdout.write(f"Added endpoint {endpoint.code} for {endpoint.url}")
        self.stdout.write(f"Events: {', '.join(endpoint.event_types)}")
        self.stdout.write(f"Signing secret (shown once): {endpoint.secret}")

    def do_list(self, **options):
        for endpoint in WebhookEndpoint.objects.order_by("created_at", "pk"):
            state = "enabled" if endpoint.enabled else f"disabled ({endpoint.disabled_reason})"
            events = ",".join(endpoint.event_types)
            self.stdout.write(f"{endpoint.code}  {state}  {endpoint.url}  {events}")

    def _endpoint(self, code):
        endpoint = WebhookEndpoint.objects.filter(code=code).first()
        if endpoint is None:
            raise CommandError(f"No webhook endpoint has the code {code!r}.")
        return endpoint

    def do_disable(self, *, code, **options):
        services.set_endpoint_enabled(endpoint=self._endpoint(code), enabled=False)
        self.stdout.write(f"Endpoint {code} disabled.")

    def do_enable(self, *, code, **options):
        services.set_endpoint_enabled(endpoint=self._endpoint(code), enabled=True)
        self.stdout.write(f"Endpoint {code} enabled.")

    def do_rotate(self, *, code, keep_old_hours, **options):
        endpoint = services.rotate_secret(
            endpoint=self._endpoint(code), keep_previous_hours=keep_old_hours
        )
        self.stdout.write(f"New signing secret (shown once): {endpoint.secret}")
        if endpoint.previous_secret_until:
            until = endpoint.previous_secret_until.isoformat(timespec="minutes")
            self.stdout.write(f"The old secret signs too until {until}.")
