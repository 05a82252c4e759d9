"""The buyer's self-service pages. No sign-in: the signed link in the URL names the buyer, and
every object is looked up within that buyer's own. Actions are POST forms (CSRF on) that call
the same services as the staff pages, with the buyer as the one who acted."""

import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import is_ratelimited

from buyers import errors as buyer_errors
from buyers import services as buyer_services
from buyers.models import Buyer
from buyers.notifications import queue_self_service_link_email
from buyers.self_service_links import LinkExpired, LinkRefused, buyer_for_token, link_lifetime
from core import audit
from core.errors import DomainError, show_on_form
from subscriptions.services import get_shop_contacts

from .. import errors as purchase_errors
from ..pause_pages import PERIODS, UNTIL
from ..services.cancellations import cancel_purchase, reactivate_purchase
from ..services.contracts import change_contract_card
from ..services.pauses import pause_contract, resume_contract
from ..services.rules import has_pin
from .forms import FreshLinkForm, NewCardForm, PauseForm, PinForm
from .selectors import buyer_contract, buyer_overview

# Buyers who share an address get a link each; more than this is not a person's inbox.
MOST_LINKS_PER_ADDRESS = 5


def _page(request, template: str, context: dict, status: int = 200):
    """A buyer-facing page: the seller's name and contacts, never the back office's."""
    contacts = get_shop_contacts()
    return render(
        request,
        f"purchases/self_service/{template}",
        {
            **context,
            "seller_name": contacts.name or settings.SHOP_NAME,
            "contacts": contacts if contacts.pk else None,
        },
        status=status,
    )


def _over_limit(request, group: str, who: str, per_hour: int) -> bool:
    """Count one more try of `who` in `group`; True past `per_hour` (0: no limit). Counted in
    the cache (shared by every web process when CACHE_URL is Redis)."""
    if per_hour <= 0:
        return False
    return is_ratelimited(
        request,
        group=f"self_service:{group}",
        key=lambda _group, _request: who,
        rate=f"{per_hour}/h",
        increment=True,
    )


def _address_key(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _refused_link_page(request, token: str, refusal: LinkRefused):
    expired = isinstance(refusal, LinkExpired)
    return _page(
        request,
        "link_refused.html",
        {
            "title": _("This link has expired") if expired else _("This link does not work"),
            "expired": expired,
            "token": token,
            "masked_email": _masked(refusal.buyer.email) if expired else "",
            "form": FreshLinkForm(),
        },
        status=410 if expired else 404,
    )


def _masked(email: str) -> str:
    """The address on file, shown enough to recognise, not to learn: a•••@example.com."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def _forms_for(buyer: Buyer, overview, failed=None):
    """A fresh form for each action of each subscription (the failed one bound, with its
    errors); the PIN field only for a buyer who has a PIN."""
    with_pin = has_pin(buyer)
    for item in overview.contracts:
        code = item.contract.code
        item.forms = {
            "card": NewCardForm(prefix=f"card-{code}"),
            "stop": PinForm(prefix=f"stop-{code}"),
            "reactivate": PinForm(prefix=f"reactivate-{code}"),
            "pause": PauseForm(prefix=f"pause-{code}"),
            "resume": PinForm(prefix=f"resume-{code}"),
        }
        if failed is not None and failed[0] == code:
            item.forms[failed[1]] = failed[2]
            # Above the subscription: what its form cannot show beside a field, or all of it
            # when the form is no longer offered (the subscription ended meanwhile).
            form = failed[2]
            item.refusals = (
                list(form.non_field_errors())
                if item.offers(failed[1])
                else [message for errors in form.errors.values() for message in errors]
            )
        for form in item.forms.values():
            if not with_pin:
                form.fields.pop("pin", None)
    return overview


def _home_page(request, token, buyer, *, failed=None, error="", status=200):
    overview = _forms_for(buyer, buyer_overview(buyer), failed)
    return _page(
        request,
        "home.html",
        {
            "title": _("Your subscriptions"),
            "token": token,
            "overview": overview,
            "error": error,
            "link_days": link_lifetime().days,
        },
        status=status,
    )


@login_not_required
@require_GET
def home(request, token: str):
    try:
        buyer = buyer_for_token(token)
    except LinkRefused as refusal:
        return _refused_link_page(request, token, refusal)
    return _home_page(request, token, buyer)


ACTIONS = {
    "card": NewCardForm,
    "stop": PinForm,
    "reactivate": PinForm,
    "pause": PauseForm,
    "resume": PinForm,
}

SUCCESS = {
    "card": gettext_lazy("Your new card is checked and will be charged from now on."),
    "stop": gettext_lazy(
        "Your subscription stops at the end of this period; you keep watching until then."
    ),
    "reactivate": gettext_lazy("Your subscription renews again as before."),
    "pause": gettext_lazy(
        "Your subscription is paused: nothing is charged, and you cannot watch until it resumes."
    ),
    "resume": gettext_lazy(
        "Your subscription runs again; your next payment moved by the time it was paused."
    ),
}


def _perform(action: str, contract, data):
    if action == "card":
        return change_contract_card(contract=contract, instrument=data["instrument"])
    if action == "stop":
        return cancel_purchase(
            purchase=contract.purchase, mode="period_end", pin=data.get("pin", ""), by_buyer=True
        )
    if action == "reactivate":
        return reactivate_purchase(
            purchase=contract.purchase, pin=data.get("pin", ""), by_buyer=True
        )
    # The pause services take no PIN: a buyer gives it as the JSON API's pause asks for it.
    _check_pin(contract.buyer, data.get("pin", ""))
    if action == "pause":
        length = data["length"]
        return pause_contract(
            contract=contract,
            start=data["start"],
            periods=data["periods"] if length == PERIODS else None,
            until=data["until"] if length == UNTIL else None,
            by_buyer=True,
        )
    return resume_contract(contract=contract, by_buyer=True)


def _check_pin(buyer: Buyer, pin: str) -> None:
    if has_pin(buyer):
        try:
            buyer_services.verify_purchase_pin(buyer=buyer, pin=pin)
        except buyer_errors.BuyerError as refusal:
            raise purchase_errors.UserPurchasePinValueNoMatch(refusal.message) from None


@login_not_required
@require_POST
def contract_action(request, token: str, action: str):
    """One action on one of the link's buyer's subscriptions: the service's refusal is shown
    beside the field it concerns, and changes nothing."""
    try:
        buyer = buyer_for_token(token)
    except LinkRefused as refusal:
        return _refused_link_page(request, token, refusal)
    contract = buyer_contract(buyer, request.POST.get("contract", ""))
    if contract is None:
        # Another buyer's subscription (or none): nothing of it is touched or told.
        return _home_page(
            request,
            token,
            buyer,
            error=_("That subscription is not one of yours: nothing was changed."),
            status=404,
        )
    form = ACTIONS[action](request.POST, prefix=f"{action}-{contract.code}")
    if not has_pin(buyer):
        form.fields.pop("pin", None)
    failed = (contract.code, action, form)
    if not form.is_valid():
        return _home_page(request, token, buyer, failed=failed, status=400)
    if action == "card" and _over_limit(
        request, "card", buyer.code, settings.SELF_SERVICE_CARD_CHECKS_PER_HOUR
    ):
        form.add_error(
            "instrument",
            _("Too many new cards were tried in the last hour: try again later."),
        )
        return _home_page(request, token, buyer, failed=failed, status=429)
    try:
        with audit.acting_as(audit.buyer_actor(buyer)):  # the buyer, not "anonymous"
            _perform(action, contract, form.cleaned_data)
    except DomainError as refusal:
        show_on_form(form, refusal)
        return _home_page(request, token, buyer, failed=failed, status=400)
    messages.success(request, SUCCESS[action])
    return redirect(reverse("self_service:home", kwargs={"token": token}) + f"#s-{contract.code}")


def _link_sent_page(request):
    return _page(
        request,
        "link_sent.html",
        {"title": _("Check your e-mail")},
    )


def _too_many_page(request, form=None, token=""):
    return _page(
        request,
        "link_refused.html",
        {
            "title": _("Too many links asked for"),
            "too_many": True,
            "form": form or FreshLinkForm(),
            "token": token,
        },
        status=429,
    )


@login_not_required
@require_POST
def fresh_link_for_link(request, token: str):
    """A genuine link (expired or not) asks for a fresh one: it is mailed to the address the
    buyer has on file, never to one given here."""
    try:
        buyer = buyer_for_token(token)
    except LinkExpired as refusal:
        buyer = refusal.buyer
    except LinkRefused as refusal:
        return _refused_link_page(request, token, refusal)
    if _over_limit(request, "link", buyer.code, settings.SELF_SERVICE_LINK_EMAILS_PER_HOUR):
        return _too_many_page(request, token=token)
    with transaction.atomic():
        queue_self_service_link_email(buyer)
    return _link_sent_page(request)


@login_not_required
@require_POST
def fresh_link_for_address(request):
    """Anyone may ask for a link to be mailed to an address; it goes only to buyers who have
    that address on file, and the answer is the same whether there are any (it tells no one
    who is a buyer)."""
    form = FreshLinkForm(request.POST)
    if not form.is_valid():
        return _page(
            request,
            "link_refused.html",
            {"title": _("This link does not work"), "form": form},
            status=400,
        )
    email = form.cleaned_data["email"]
    if _over_limit(
        request, "address", _address_key(email), settings.SELF_SERVICE_LINK_EMAILS_PER_HOUR
    ):
        return _too_many_page(request, form=form)
    buyers = Buyer.objects.filter(email__iexact=email.strip()).order_by("pk")
    with transaction.atomic():
        for buyer in buyers[:MOST_LINKS_PER_ADDRESS]:
            queue_self_service_link_email(buyer)
    return _link_sent_page(request)
