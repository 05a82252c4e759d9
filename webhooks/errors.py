from core.errors import DomainError


class WebhookError(DomainError):
    code = "webhook_error"
    message = "This webhook change is refused."


class EndpointRefused(WebhookError):
    code = "endpoint_refused"
    message = "This URL cannot receive webhooks."
    field = "url"


class UnknownEventType(WebhookError):
    code = "unknown_event_type"
    message = "Choose event types from the list."
    field = "event_types"


class InvalidRange(WebhookError):
    code = "invalid_range"
    message = "The start must be before the end."
    field = "start"


class InvalidOverlap(WebhookError):
    code = "invalid_overlap"
    message = "Keep the old secret for a number of hours within the limit."
    field = "keep_previous_hours"
