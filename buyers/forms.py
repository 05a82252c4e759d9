"""Forms check the shape of input (types, required, ranges); the rules are the services'.

A service's BuyerError is shown beside the field it names (`core.errors.show_on_form`).
"""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.forms import MAX_POSITIVE_INTEGER, DateOrDateTimeField
from core.money import currency_choices
from subscriptions.models import Subscription

from .models import WalletEntry, default_buyer_language


class BuyerForm(forms.Form):
    email = forms.CharField(label=_("E-mail"), required=False, max_length=254)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    name = forms.CharField(label=_("Name"), required=False, max_length=255)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=settings.LANGUAGES,
        initial=default_buyer_language,
        required=False,  # left out: a new buyer gets the shop's, an edited one keeps theirs
        help_text=_("The buyer's e-mails are written in this language."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = _("An e-mail address or a phone number is required.")


class PinForm(forms.Form):
    pin = forms.CharField(
        label=_("New purchase PIN"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("4 to 8 digits. It is stored hashed: nobody can read it back."),
        max_length=8,
    )
    pin_again = forms.CharField(
        label=_("The PIN again"),
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        max_length=8,
    )

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("pin")
            and cleaned.get("pin_again")
            and cleaned["pin"] != cleaned["pin_again"]
        ):
            self.add_error("pin_again", _("The two PINs differ."))
        return cleaned


def default_wallet_currency() -> str:
    return settings.WALLET_DEFAULT_CURRENCY


class WalletForm(forms.Form):
    KIND_CHOICES = [
        (WalletEntry.Kind.TOP_UP, _("Top-up (adds money)")),
        (WalletEntry.Kind.ADJUSTMENT, _("Adjustment (up or down, with a reason)")),
    ]
    kind = forms.ChoiceField(label=_("Kind"), choices=KIND_CHOICES, initial=WalletEntry.Kind.TOP_UP)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        help_text=_("An adjustment may be negative (-5.00) to take money off."),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=currency_choices)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=255)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].initial = default_wallet_currency()


class GrantAccessForm(forms.Form):
    """Grant access: from a buyer's page (pick the subscription) or from a subscription's page
    (an existing or new buyer, by e-mail or phone)."""

    subscription = forms.ModelChoiceField(
        label=_("Subscription"), queryset=Subscription.objects.none(), to_field_name="code"
    )
    email = forms.CharField(label=_("Buyer's e-mail"), required=False, max_length=254)
    phone = forms.CharField(label=_("Buyer's phone"), required=False, max_length=40)
    name = forms.CharField(
        label=_("Buyer's name (for a new buyer)"), required=False, max_length=255
    )
    activation_limit = forms.IntegerField(
        label=_("Activation limit"),
        required=False,
        min_value=1,
        max_value=MAX_POSITIVE_INTEGER,
        help_text=_("Devices that may use the access password. Empty: the subscription's limit."),
    )
    access_start = DateOrDateTimeField(
        label=_("Access starts"),
        help_text=_("Empty: from the subscription. A date alone: 00:00:01."),
    )
    access_expire = DateOrDateTimeField(
        label=_("Access expires"),
        help_text=_("Empty: the subscription's expiry or period. A date alone: 23:59:59."),
    )
    custom_url = forms.URLField(
        label=_("Link for the e-mail"), required=False, max_length=500, assume_scheme="https"
    )
    use_subscription_custom_url = forms.BooleanField(
        label=_("Else use the subscription's link"), required=False
    )
    notify = forms.BooleanField(label=_("Notify the buyer by e-mail"), required=False, initial=True)

    def __init__(self, *args, for_subscription: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if for_subscription:
            del self.fields["subscription"]
        else:
            for name in ("email", "phone", "name"):
                del self.fields[name]
            self.fields["subscription"].queryset = Subscription.objects.filter(
                archived_at__isnull=True
            ).order_by("name")

    def clean(self):
        cleaned = super().clean()
        missing = not cleaned.get("email") and not cleaned.get("phone")
        if "email" in self.fields and missing and not self.errors:
            self.add_error("email", _("Give the buyer's e-mail or phone."))

        return cleaned


class AccessForm(forms.Form):
    """Change an access (reference 004 `updatebuyer`)."""

    activation_limit = forms.IntegerField(
        label=_("Activation limit"),
        required=False,
        min_value=1,
        max_value=MAX_POSITIVE_INTEGER,
        help_text=_("Empty: no limit."),
    )
    access_start = DateOrDateTimeField(
        label=_("Access starts"), help_text=_("A date alone: 00:00:01.")
    )
    access_expire = DateOrDateTimeField(
        label=_("Access expires"), help_text=_("Empty: never. A date alone: 23:59:59.")
    )
    custom_url = forms.URLField(
        label=_("Link for e-mails"), required=False, max_length=500, assume_scheme="https"
    )
    use_subscription_custom_url = forms.BooleanField(
        label=_("Else use the subscription's link"), required=False
    )
    notify = forms.BooleanField(
        label=_("Tell the buyer by e-mail"),
        required=False,
        initial=True,
        help_text=_("E-mails the access's dates, activation limit and link as saved."),
    )


class RevokeForm(forms.Form):
    notify = forms.BooleanField(label=_("Tell the buyer by e-mail"), required=False, initial=True)


class AccessPasswordForm(forms.Form):
    notify = forms.BooleanField(
        label=_("Tell the buyer by e-mail"),
        required=False,
        initial=True,
        help_text=_("E-mails the new password to the buyer."),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8, with a header row naming the columns email, phone and name "
            "(email or phone required on each row)."
        ),
    )
