from django import template
from django.urls import reverse

from core.audit_pages import changes_text, history_of
from core.roles import AUDIT_TRAIL, MONEY_REPORTS

register = template.Library()


@register.inclusion_tag("core/audit_history.html", takes_context=True)
def audit_history(context, obj, kind: str = ""):
    """`{% audit_history object %}`: the object's History panel. The page already checked that
    the user may see the object; the link to the whole trail needs the trail's permission, and
    a refund's amount the money reports' (as on the purchase's own page)."""
    kind = kind or obj._meta.model_name
    code = str(getattr(obj, "code", "") or obj.pk)
    user = context["request"].user
    sees_money = user.has_perm(MONEY_REPORTS)
    trail_url = ""
    if user.has_perm(AUDIT_TRAIL):
        trail_url = f"{reverse('audit_trail')}?object_kind={kind}&object={code}"
    return {
        "entries": [
            (entry, changes_text(entry.changes, sees_money=sees_money))
            for entry in history_of(obj, kind=kind)
        ],
        "trail_url": trail_url,
    }
