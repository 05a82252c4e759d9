"""Panels other apps' pages show about buyers (a subscription's page), so those apps need not
import buyers: the page loads the tag, the tag asks the selectors."""

from django import template

from .. import selectors

register = template.Library()


@register.inclusion_tag("buyers/partials/subscription_accesses.html", takes_context=True)
def subscription_accesses(context, subscription):
    """The subscription's latest accesses (or those of `?email=`), for users who may see them."""
    request = context["request"]
    panel = selectors.subscription_accesses_panel(
        subscription, email=request.GET.get("email", ""), user=request.user
    )
    return {**panel, "subscription": subscription, "request": request, "perms": context["perms"]}
