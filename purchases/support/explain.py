""" "Why can't this buyer buy / watch?": every rule a purchase (purchases.services.rules's
PURCHASE_RULES) and the access check (buyers.access_check's ACCESS_RULES) apply, each answered
passed, failed (with the refusal's own message and what would change it) or not checked (it
reads what an earlier refusal left unknown). It runs the very functions the services run, so it
answers "can buy" exactly when a real purchase would be accepted; it writes nothing."""

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from buyers.access_check import ACCESS_RULES, AccessRefusal
from buyers.errors import BuyerNotFound
from buyers.models import Access, AccessActivation, Buyer
from core.money import quantize
from subscriptions.models import PricingModel, Subscription

from .. import errors
from ..gateways import get_gateway, payment_type_label
from ..models import WALLET, Purchase
from ..services.rules import PURCHASE_RULES, PurchaseFacts, active_access, missing_needs


def format_money(amount, currency: str) -> str:
    return f"{quantize(amount, currency)} {currency}"


PASSED, FAILED, NOT_CHECKED, NOTE = "passed", "failed", "not_checked", "note"

# What a card or a payment page needs from the request itself: the explainer asks about the
# buyer and the product, so it takes them as given.
ASSUMED_INSTRUMENT = "the buyer's card"
ASSUMED_URL = "https://shop.example/return"


@dataclass
class RuleAnswer:
    name: str
    title: str
    outcome: str
    reason: str = ""
    fix: str = ""
    code: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == PASSED

    def as_json(self) -> dict:
        return {
            "Rule": self.name,
            "Title": self.title,
            "Outcome": self.outcome,
            "Reason": self.reason,
            "Fix": self.fix,
            "Code": self.code or None,
        }


@dataclass
class Explanation:
    buyer: Buyer
    subscription: Subscription
    pricing_model: PricingModel | None
    payment_type: str
    device_type: str
    coupon_code: str
    device_id: str
    notes: list[RuleAnswer] = field(default_factory=list)
    purchase: list[RuleAnswer] = field(default_factory=list)
    watch: list[RuleAnswer] = field(default_factory=list)
    access: Access | None = None

    @property
    def can_buy(self) -> bool:
        return all(answer.passed for answer in self.purchase)

    @property
    def sections(self):
        """(title, answers, test id) for a page."""
        parts = [
            ("Buying: the purchase service's rules", self.purchase, "explain-purchase"),
            ("Watching: the players' access check", self.watch, "explain-watch"),
        ]
        if self.notes:
            parts.append(("Notes", self.notes, "explain-notes"))
        return parts

    @property
    def can_watch(self) -> bool:
        return bool(self.watch) and all(answer.passed for answer in self.watch)


# --- Reading the question -----------------------------------------------------------------------


def find_buyer(value: str) -> Buyer:
    """A buyer by code, else by e-mail (exact, case-insensitive); a clear refusal otherwise."""
    value = (value or "").strip()
    if not value:
        raise BuyerNotFound("Give the buyer's code or e-mail.", field="buyer")
    buyer = Buyer.objects.filter(code=value).first()
    if buyer is None and "@" in value:
        found = list(Buyer.objects.filter(email__iexact=value)[:2])
        if len(found) > 1:
            raise BuyerNotFound(
                "Several buyers have this e-mail: give the buyer's code.", field="buyer"
            )
        buyer = found[0] if found else None
    if buyer is None:
        raise BuyerNotFound(f"No buyer has the code or e-mail “{value}”.", field="buyer")
    return buyer


def find_subscription(value: str) -> Subscription:
    value = (value or "").strip()
    if not value:
        raise errors.ProductDoesNotExist("Choose the subscription.", field="subscription")
    subscription = Subscription.objects.filter(code=value).first()
    if subscription is None:
        raise errors.ProductDoesNotExist(
            f"No subscription has the code “{value}”.", field="subscription"
        )
    return subscription


def find_pricing_model(value: str) -> PricingModel | None:
    value = (value or "").strip()
    if not value:
        return None
    pricing_model = PricingModel.objects.filter(code=value).first()
    if pricing_model is None:
        raise errors.InvalidPricingModel(
            f"No pricing model has the code “{value}”.", field="pricing_model"
        )
    return pricing_model


def explain_codes(
    *,
    buyer: str,
    subscription: str,
    pricing_model: str = "",
    payment_type: str = "",
    device_type: str = "",
    coupon_code: str = "",
    device_id: str = "",
    now=None,
) -> Explanation:
    """`explain` for codes as a form or an API client sends them; a code that names nothing is
    refused (BuyerNotFound, ProductDoesNotExist, InvalidPricingModel) with the field concerned."""
    return explain(
        buyer=find_buyer(buyer),
        subscription=find_subscription(subscription),
        pricing_model=find_pricing_model(pricing_model),
        payment_type=(payment_type or "").strip() or WALLET,
        device_type=(device_type or "").strip(),
        coupon_code=(coupon_code or "").strip(),
        device_id=(device_id or "").strip(),
        now=now,
    )


# --- Asking the rules ---------------------------------------------------------------------------


def explain(
    *,
    buyer: Buyer,
    subscription: Subscription,
    pricing_model: PricingModel | None = None,
    payment_type: str = WALLET,
    device_type: str = "",
    coupon_code: str = "",
    device_id: str = "",
    now=None,
) -> Explanation:
    """Every purchase rule and every access-check rule for this buyer and subscription, now.
    Without a pricing model, the subscription's default offer is asked about."""
    now = now or timezone.now()
    if pricing_model is None:
        offer = subscription.offers.filter(is_default=True).select_related("pricing_model").first()
        pricing_model = offer.pricing_model if offer else None
    explanation = Explanation(
        buyer, subscription, pricing_model, payment_type, device_type, coupon_code, device_id
    )
    explanation.notes = _pin_notes(buyer, payment_type)
    explanation.purchase = _purchase_answers(explanation, now)
    explanation.access, explanation.watch = _watch_answers(buyer, subscription, device_id, now)
    return explanation


def _pin_notes(buyer: Buyer, payment_type: str) -> list[RuleAnswer]:
    title = _("The buyer's purchase PIN")
    answers = []
    if buyer.pin_is_locked:
        answers.append(
            RuleAnswer(
                "pin",
                title,
                NOTE,
                "The PIN is locked after too many wrong tries: the buyer's own purchases are "
                "refused (UserPurchasePinValueNoMatch); staff buying on their behalf are not.",
                "Reset the buyer's PIN (Reset PIN on the buyer's page).",
                errors.PurchasePinLocked.code,
            )
        )
    elif buyer.has_pin:
        answers.append(
            RuleAnswer(
                "pin",
                title,
                NOTE,
                "The buyer has a PIN: their own purchases need it; staff buying on their "
                "behalf do not.",
            )
        )
    gateway = get_gateway(payment_type) if payment_type != WALLET else None
    if gateway is not None:
        needs = "return and cancel URLs" if gateway.is_redirect else "a card"
        answers.append(
            RuleAnswer(
                "payment_details",
                "What the checkout itself sends",
                NOTE,
                f"{payment_type_label(payment_type)} needs {needs} with the purchase; taken as "
                "given here. The gateway may still decline the payment.",
            )
        )
    return answers


def _purchase_answers(explanation: Explanation, now) -> list[RuleAnswer]:
    facts = PurchaseFacts(
        buyer=explanation.buyer,
        subscription=explanation.subscription,
        pricing_model=explanation.pricing_model,
        payment_type=explanation.payment_type,
        now=now,
        device_type=explanation.device_type,
        coupon_code=explanation.coupon_code,
        instrument=ASSUMED_INSTRUMENT,
        return_url=ASSUMED_URL,
        cancel_url=ASSUMED_URL,
    )
    answers = []
    for rule in PURCHASE_RULES:
        missing = missing_needs(rule, facts)
        if missing:
            answers.append(
                RuleAnswer(
                    rule.name,
                    rule.title,
                    NOT_CHECKED,
                    "Not checked until the rules above it pass.",
                )
            )
            continue
        try:
            rule.check(facts)
        except errors.PurchaseError as refusal:
            answers.append(
                RuleAnswer(
                    rule.name,
                    rule.title,
                    FAILED,
                    refusal.message,
                    _purchase_fix(rule.name, refusal, facts),
                    refusal.code,
                )
            )
        else:
            reason = _passed_reason(rule.name, facts)
            answers.append(RuleAnswer(rule.name, rule.title, PASSED, reason))
    return answers


def _passed_reason(name: str, facts: PurchaseFacts) -> str:
    if name == "pricing_model":
        return f"“{facts.offer.title}” is offered."
    if name == "price" and facts.amount is not None:
        price = format_money(facts.amount, facts.currency)
        if facts.trial_ends_at is not None:
            return gettext("Free trial until {trial_ends_at}; then {price} is charged.").format(
                trial_ends_at=f"{facts.trial_ends_at:%Y-%m-%d}", price=price
            )
        return f"{price}" + (f" with coupon {facts.coupon.code}." if facts.coupon else ".")
    if name == "balance" and "balance" in facts.notes:
        return gettext("The e-wallet holds {balance}.").format(
            balance=format_money(facts.notes["balance"], facts.currency)
        )
    return ""


def _purchase_fix(name: str, refusal: errors.PurchaseError, facts: PurchaseFacts) -> str:
    subscription = facts.subscription
    if name == "product":
        if isinstance(refusal, errors.SubscriptionNotAvailableForPurchaseType):
            return "It is provisioning-only: grant the access instead (Grant access)."
        if isinstance(refusal, errors.ProductNotAvailableYet):
            return gettext("Its sale starts {sale_start}: wait, or edit it.").format(
                sale_start=f"{subscription.sale_start:%Y-%m-%d %H:%M}"
            )
        if isinstance(refusal, errors.ProductExpired):
            return "Edit the subscription's sale or access window, or sell another subscription."
        return "It is archived: sell another subscription."
    if name == "pricing_model":
        offered = ", ".join(facts.product.offers.values_list("pricing_model__title", flat=True))
        return gettext("Choose a pricing model it offers ({offered}), or offer this one.").format(
            offered=offered or gettext("none yet")
        )
    if name == "payment_type":
        if isinstance(refusal, errors.WebpayIsntAvailableForRecurringPayment):
            return "Pay by the e-wallet or a card gateway that renews."
        return "Pay by the e-wallet or an enabled payment gateway."
    if name == "mandatory":
        return "Sell or grant the buyer the mandatory subscription first."
    if name == "no_pending":
        pending = Purchase.objects.filter(
            buyer=facts.buyer, subscription=facts.product, status=Purchase.Status.PENDING
        ).first()
        if pending is not None:
            return (
                f"Purchase {pending.code} waits for payment until "
                f"{pending.expires_at:%Y-%m-%d %H:%M}: check its payment, or wait until it expires."
            )
        return "Wait until the pending purchase is paid or expires."
    if name == "not_owned":
        access = active_access(facts.buyer, facts.product, facts.now)
        until = (
            f" until {access.access_expire:%Y-%m-%d %H:%M}"
            if access is not None and access.access_expire
            else ""
        )
        code = f" {access.code}" if access is not None else ""
        return (
            f"Nothing to buy: access{code} runs{until}. Revoke it first to sell it again, or "
            "extend it."
        )
    if name == "stock":
        return "Raise the subscription's stock, or revoke accesses nobody uses."
    if name == "device_type":
        return "Choose a pricing model that covers this device type, or add it to this one."
    if name == "price":
        if facts.coupon_code:
            return "Buy without this coupon, or fix the coupon (validity, uses, subscriptions)."
        return "Open a new purchase session."
    if name == "balance":
        balance = facts.notes.get("balance")
        if balance is not None and facts.amount is not None:
            short = format_money(facts.amount - balance, facts.currency)
            return gettext("Top up the e-wallet by at least {short}, or pay by card.").format(
                short=short
            )
        return "Top up the e-wallet, or pay by card."
    return ""


# --- Watching -----------------------------------------------------------------------------------


WATCH_FIXES = {
    AccessRefusal.REVOKED: "Grant a new access (or sell one).",
    AccessRefusal.NOT_STARTED: "Wait until it starts, or edit the access's start.",
    AccessRefusal.EXPIRED: "Extend the access (Edit access), or sell it again.",
    AccessRefusal.ACTIVATION_LIMIT_REACHED: "Raise the access's activation limit (Edit access).",
}


def _watch_answers(buyer, subscription, device_id: str, now):
    """The access check's rules for the buyer's access to the subscription that plays, else
    the newest one not revoked, else the newest one."""
    accesses = list(
        Access.objects.filter(buyer=buyer, subscription=subscription).order_by(
            "-purchased_at", "-pk"
        )[:50]
    )
    if not accesses:
        return None, [
            RuleAnswer(
                "access",
                "The buyer holds an access to it",
                FAILED,
                "The buyer has no access to this subscription.",
                "Sell it (see the purchase rules) or grant an access.",
                AccessRefusal.UNKNOWN,
            )
        ]
    known = set()
    if device_id:
        known = set(
            AccessActivation.objects.filter(
                Q(access__in=accesses), device_id=device_id[:200]
            ).values_list("access_id", flat=True)
        )

    def playing(access):
        return all(rule.passes(access, access.pk in known, now) for rule in ACCESS_RULES)

    access = next(
        (a for a in accesses if playing(a)),
        next((a for a in accesses if a.revoked_at is None), accesses[0]),
    )
    answers = [
        RuleAnswer(
            "access",
            "The buyer holds an access to it",
            PASSED,
            f"Access {access.code}" + (f" (of {len(accesses)})" if len(accesses) > 1 else "") + ".",
        )
    ]
    for rule in ACCESS_RULES:
        known_device = access.pk in known
        if rule.passes(access, known_device, now):
            reason = _watch_passed(rule, access, known_device)
            answers.append(RuleAnswer(rule.refusal, rule.title, PASSED, reason))
        else:
            answers.append(
                RuleAnswer(
                    rule.refusal,
                    rule.title,
                    FAILED,
                    _watch_reason(rule.refusal, access),
                    WATCH_FIXES[rule.refusal],
                    rule.refusal,
                )
            )
    return access, answers


def _watch_passed(rule, access, known_device: bool) -> str:
    if rule.refusal == AccessRefusal.ACTIVATION_LIMIT_REACHED:
        if known_device:
            return "This device was activated before."
        if access.activation_limit is None:
            return f"{access.activations_used} activations used; no limit."
        return gettext("Activations {activations_used} of {activation_limit} used.").format(
            activations_used=access.activations_used, activation_limit=access.activation_limit
        )
    if rule.refusal == AccessRefusal.EXPIRED and access.access_expire:
        return gettext("Expires {access_expire}.").format(
            access_expire=f"{access.access_expire:%Y-%m-%d %H:%M}"
        )
    return ""


def _watch_reason(refusal: str, access: Access) -> str:
    if refusal == AccessRefusal.REVOKED:
        return gettext("Access {code} was revoked on {revoked_at}.").format(
            code=access.code, revoked_at=f"{access.revoked_at:%Y-%m-%d %H:%M}"
        )
    if refusal == AccessRefusal.NOT_STARTED:
        return gettext("Access {code} starts {access_start}.").format(
            code=access.code, access_start=f"{access.access_start:%Y-%m-%d %H:%M}"
        )
    if refusal == AccessRefusal.EXPIRED:
        return gettext("Access {code} expired on {access_expire}.").format(
            code=access.code, access_expire=f"{access.access_expire:%Y-%m-%d %H:%M}"
        )
    return (
        f"Activations {access.activations_used} of {access.activation_limit} used: "
        "a new device cannot play it."
    )
