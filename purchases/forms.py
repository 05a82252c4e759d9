from django import forms
from django.utils.translation import gettext_lazy as _

from buyers.models import Buyer
from subscriptions.models import PricingModel, Subscription

from .gateways import payment_type_choices
from .models import Cancellation


class NewPurchaseForm(forms.Form):
    """Staff buy for a buyer: the buyer by e-mail, phone or code; the service checks the rest."""

    buyer = forms.CharField(
        label=_("Buyer"), max_length=254, help_text=_("E-mail, phone or buyer code.")
    )
    subscription = forms.ModelChoiceField(
        label=_("Subscription"),
        queryset=Subscription.objects.filter(archived_at__isnull=True).order_by("name"),
        to_field_name="code",
    )
    pricing_model = forms.ModelChoiceField(
        label=_("Pricing model"),
        queryset=PricingModel.objects.order_by("title"),
        to_field_name="code",
    )
    payment_type = forms.ChoiceField(label=_("Payment type"), choices=())
    coupon_code = forms.CharField(label=_("Coupon"), max_length=32, required=False)
    instrument = forms.CharField(
        label=_("Card token"),
        max_length=80,
        required=False,
        help_text=_(
            "For card payments. Sandbox: tok_approve, tok_decline, tok_insufficient_funds, "
            "tok_timeout."
        ),
    )
    return_url = forms.URLField(
        label=_("Return URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("For payment pages (PayPal, WebPay, WorldPay)."),
    )
    cancel_url = forms.URLField(
        label=_("Cancel URL"), max_length=500, required=False, assume_scheme="https"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment_type"].choices = payment_type_choices()

    def clean_buyer(self):
        value = self.cleaned_data["buyer"].strip()
        buyer = (
            Buyer.objects.filter(email__iexact=value).first()
            or Buyer.objects.filter(phone=value).first()
            or Buyer.objects.filter(code=value).first()
        )
        if buyer is None:
            raise forms.ValidationError(_("No buyer has this e-mail, phone or code."))

        return buyer


class CancelPurchaseForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("How"), choices=Cancellation.Mode.choices, widget=forms.RadioSelect
    )
    refund = forms.ChoiceField(
        label=_("Refund"),
        choices=[
            ("none", _("No refund")),
            ("prorated", _("The unused part of the period")),
            ("full", _("Everything not yet refunded")),
        ],
        initial="none",
        help_text=_("Only when ending now."),
    )


class RefundPurchaseForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=4, min_value=0)
    reason = forms.CharField(label=_("Reason"), max_length=255)


class EndContractForm(forms.Form):
    refund = forms.ChoiceField(
        label=_("Refund"),
        choices=[
            ("none", _("No refund")),
            ("prorated", _("The unused part of the period")),
            ("full", _("Everything not yet refunded")),
        ],
        initial="none",
    )


class ChangeCardForm(forms.Form):
    instrument = forms.CharField(
        label=_("New card token"),
        max_length=80,
        help_text=_("Sandbox: tok_approve, tok_decline, tok_insufficient_funds, tok_timeout."),
    )


class ConfirmForm(forms.Form):
    """A confirmation: nothing to fill in, the button is the answer."""


class ExplainForm(forms.Form):
    """ "Why can't this buyer buy / watch?": what the explainer is asked about (a GET form)."""

    buyer = forms.CharField(label=_("Buyer"), max_length=254, help_text=_("Buyer code or e-mail."))
    subscription = forms.ModelChoiceField(
        label=_("Subscription"),
        queryset=Subscription.objects.order_by("name"),
        to_field_name="code",
    )
    pricing_model = forms.ModelChoiceField(
        label=_("Pricing model"),
        queryset=PricingModel.objects.order_by("title"),
        to_field_name="code",
        required=False,
        help_text=_("Empty: the subscription's default."),
    )
    payment_type = forms.ChoiceField(label=_("Payment type"), choices=(), required=False)
    device_type = forms.CharField(label=_("Device type"), max_length=50, required=False)
    coupon_code = forms.CharField(label=_("Coupon"), max_length=32, required=False)
    device_id = forms.CharField(
        label=_("Device id"),
        max_length=200,
        required=False,
        help_text=_("For watching: the player's device id (empty: a new device)."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment_type"].choices = payment_type_choices()


class BuyerNoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
