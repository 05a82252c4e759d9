from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class WebhookError(DomainError):
    code = "webhook_error"
    message = _("This webhook change is refused.")


class EndpointRefused(WebhookError):
    code = "endpoint_refused"
    message = _("This URL cannot receive webhooks.")
    field = "url"


class UnknownEventType(WebhookError):
    code = "unknown_event_type"
    message = _("Choose event types from the list.")
    field = "event_types"


class InvalidRange(WebhookError):
    code = "invalid_range"
    message = _("The start must be before the end.")
    field = "start"


class InvalidOverlap(WebhookError):
    code = "invalid_overlap"
    message = _("Keep the old secret for a number of hours within the limit.")
    field = "keep_previous_hours"
