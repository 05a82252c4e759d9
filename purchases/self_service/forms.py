"""The shape of what a buyer sends from the self-service page; the services decide the rest.
The subscription an action is for is named by its public code beside the form's fields, and
looked up among the link's buyer's own."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ..pause_pages import PauseContractForm


class PinForm(forms.Form):
    """Stopping or restarting renewals: the buyer's purchase PIN when they have one (the
    cancellation services ask for it of a buyer)."""

    pin = forms.CharField(
        label=_("Your purchase PIN"),
        max_length=32,
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )


class NewCardForm(forms.Form):
    instrument = forms.CharField(
        label=_("New card"),
        max_length=80,
        help_text=_("The card reference from the payment form; it is checked before it is used."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class FreshLinkForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class PauseForm(PauseContractForm):
    """The staff's pause form (when, how long, the shop's limit), with the buyer's PIN."""

    pin = PinForm.base_fields["pin"]
