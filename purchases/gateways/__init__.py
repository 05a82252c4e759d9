"""Payment gateways: the registry of every gateway the code knows, and the payment types a shop
accepts.

Each gateway implements the small interface in `base.py`. Built in: the sandbox gateways
(`sandbox.py`), whose outcomes are chosen by test tokens, and the reference-003 Recurring web
service (`recurring003.py`). A real gateway is one more module and one more line in GATEWAYS
below; which are enabled is the PAYMENT_GATEWAYS setting. The e-wallet is a payment type handled
by the purchase services against the buyer's ledger, not a gateway.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ..models import WALLET
from .base import PaymentGateway
from .recurring003 import RecurringServiceGateway
from .sandbox import SandboxCardGateway, SandboxRedirectGateway

WALLET_LABEL = _("E-wallet")

GATEWAYS: dict[str, PaymentGateway] = {
    gateway.name: gateway
    for gateway in (
        SandboxCardGateway(),
        SandboxRedirectGateway("sandbox_paypal", _("PayPal (sandbox)")),
        SandboxRedirectGateway("sandbox_webpay", _("WebPay (sandbox)"), supports_recurring=False),
        SandboxRedirectGateway("sandbox_worldpay", _("WorldPay (sandbox)")),
        RecurringServiceGateway(),
    )
}


def enabled_gateways() -> dict[str, PaymentGateway]:
    """The gateways this shop accepts, in the order PAYMENT_GATEWAYS lists them; a gateway that
    needs settings (`is_configured` False) is left out until they are set."""
    return {
        name: GATEWAYS[name]
        for name in settings.PAYMENT_GATEWAYS
        if name in GATEWAYS and getattr(GATEWAYS[name], "is_configured", True)
    }


def get_gateway(name: str) -> PaymentGateway | None:
    """The enabled gateway called `name`, or None when it is unknown or not enabled."""
    return enabled_gateways().get(name)


def payment_type_choices() -> list[tuple[str, str]]:
    """The payment types this shop accepts: the e-wallet and the enabled gateways."""
    return [(WALLET, WALLET_LABEL)] + [(name, g.label) for name, g in enabled_gateways().items()]


def known_payment_types() -> list[tuple[str, str]]:
    """Every payment type the code knows, enabled or not: old rows keep their payment type."""
    return [(WALLET, WALLET_LABEL)] + [(name, g.label) for name, g in GATEWAYS.items()]


def describe_instrument(payment_type: str, instrument: str) -> str:
    """A stored payment method as its gateway describes it, never the raw token."""
    gateway = GATEWAYS.get(payment_type)
    if gateway is None or not instrument:
        return ""
    return gateway.describe(instrument)


def payment_type_label(payment_type: str) -> str:
    """What staff call a payment type; one no longer enabled still has a name."""
    if payment_type == WALLET:
        return WALLET_LABEL
    gateway = GATEWAYS.get(payment_type)
    return gateway.label if gateway is not None else payment_type
