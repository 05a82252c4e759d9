from django import template
from django.conf import settings
from django.urls import reverse

from core.outbox import outbox_state

register = template.Library()


@register.inclusion_tag("partials/outbox_notice.html", takes_context=True)
def outbox_notice(context):
    """For admins: how many outbox messages (buyer e-mails) are stuck or failed for good."""
    user = context["request"].user
    if not user.has_perm("site.view_outboxmessage"):
        return {"show": False}
    state = outbox_state()
    return {
        "show": True,
        "state": state,
        "stuck_minutes": settings.OUTBOX_STUCK_MINUTES,
        "list_url": reverse("admin:site_outboxmessage_changelist"),
    }
