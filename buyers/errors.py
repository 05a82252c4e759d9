"""Refusals of the buyers' rules: a stable `code`, a human `message` and the `field` concerned.

A form shows the message beside `field` (or above the form when it is None); an API returns the
code. Codes never change once published; messages may be reworded. Names follow the reference
documents where they name the refusal (UserPurchasePinValueNoMatch, InsufficientBalance).
"""

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, SeveralRefusals


class BuyerError(DomainError):
    code = "buyer_error"
    message = _("This change was refused.")


class BuyerRefusals(SeveralRefusals, BuyerError):
    """Several of the buyers' rules broken at once (each shown beside its field)."""


# --- Buyers -------------------------------------------------------------------------------------


class EmailOrPhoneRequired(BuyerError):
    code = "email_or_phone_required"
    message = _("Give an e-mail address or a phone number (one of the two is required).")
    field = "email"


class InvalidEmail(BuyerError):
    code = "invalid_email"
    message = _("Enter a valid e-mail address.")
    field = "email"


class InvalidPhone(BuyerError):
    code = "invalid_phone"
    message = _("Enter a phone number: digits, spaces, dashes, dots, brackets and a leading +.")
    field = "phone"


class EmailTaken(BuyerError):
    code = "email_taken"
    message = _("Another buyer already has this e-mail address.")
    field = "email"


class PhoneTaken(BuyerError):
    code = "phone_taken"
    message = _("Another buyer already has this phone number.")
    field = "phone"


class InvalidLanguage(BuyerError):
    code = "invalid_language"
    message = _("Choose a language the shop writes e-mails in: en (English) or ru (Russian).")
    field = "language"


class ControlCharacter(BuyerError):
    code = "control_character"
    message = _(
        "Line breaks, tabs and other control characters are not allowed here: keep it on one line."
    )


class FieldTooLong(BuyerError):
    code = "too_long"
    message = _("This value is too long.")


class NullCharacter(BuyerError):
    code = "null_character"
    message = _("Null characters are not allowed.")


# --- Purchase PIN -------------------------------------------------------------------------------


class InvalidPin(BuyerError):
    code = "invalid_pin"
    message = _("A purchase PIN is 4 to 8 digits.")
    field = "pin"


class UserPurchasePinValueNoMatch(BuyerError):
    code = "user_purchase_pin_value_no_match"
    message = _("The purchase PIN does not match.")
    field = "pin"


class PurchasePinLocked(BuyerError):
    code = "purchase_pin_locked"
    message = _("Too many wrong PINs: the purchase PIN is locked until staff reset it.")
    field = "pin"


# --- Accesses -----------------------------------------------------------------------------------


class SubscriptionArchived(BuyerError):
    code = "subscription_archived"
    message = _("This subscription is archived: no new access can be granted to it.")
    field = "subscription"


class SubscriptionOutOfStock(BuyerError):
    code = "subscription_out_of_stock"
    message = _("This subscription's stock is used up: every access it may grant is granted.")
    field = "subscription"


class AccessStartNotBeforeExpire(BuyerError):
    code = "access_start_not_before_expire"
    message = _("Access must start before it expires.")
    field = "access_expire"


class AccessWindowOutOfRange(BuyerError):
    code = "access_window_out_of_range"
    message = _(
        "The access would end after the year 9999 with the subscription's period: choose an "
        "earlier start, or give the expiry."
    )
    field = "access_start"


class ActivationLimitBelowUsed(BuyerError):
    code = "activation_limit_below_used"
    message = _("The activation limit cannot be lower than the activations already used.")
    field = "activation_limit"


class InvalidActivationLimit(BuyerError):
    code = "invalid_activation_limit"
    message = _("Enter a whole number of at least 1, or leave empty for no limit.")
    field = "activation_limit"


class InvalidUrl(BuyerError):
    code = "invalid_url"
    message = _("Enter a valid http or https address.")
    field = "custom_url"


class AccessRevoked(BuyerError):
    code = "access_revoked"
    message = _("This access is revoked and can no longer be changed.")


class InvalidAccessPassword(BuyerError):
    code = "invalid_access_password"
    message = _(
        "An access password is 1 to 255 printable characters (letters, digits, punctuation), "
        "without leading or trailing spaces."
    )
    field = "hash"


class AccessNotFound(BuyerError):
    code = "access_not_found"
    message = _("No access with this password exists for this subscription.")
    field = "hash"


# --- E-wallet -----------------------------------------------------------------------------------


class InvalidAmount(BuyerError):
    code = "invalid_amount"
    message = _("Enter an amount greater than zero.")
    field = "amount"


class AmountTooPrecise(BuyerError):
    code = "amount_too_precise"
    message = _("This currency has fewer decimal places.")
    field = "amount"


class InvalidCurrency(BuyerError):
    code = "invalid_currency"
    message = _("Choose a currency from the list.")
    field = "currency"


class ReasonRequired(BuyerError):
    code = "reason_required"
    message = _("Say why: an adjustment needs a reason.")
    field = "reason"


class InsufficientBalance(BuyerError):
    code = "insufficient_balance"
    message = _("The e-wallet balance is too low for this.")
    field = "amount"


class AmountAboveLimit(BuyerError):
    code = "amount_above_limit"
    message = _("An e-wallet change this large needs the Finance role.")
    field = "amount"


# --- Import -------------------------------------------------------------------------------------


class AccessNotRevoked(BuyerError):
    code = "access_not_revoked"
    message = _("This access is not revoked: there is nothing to restore.")


class AccessRestoreConflict(BuyerError):
    code = "access_restore_conflict"
    message = _("The buyer has another live access to this subscription now.")


class ImportFileInvalid(BuyerError):
    code = "import_file_invalid"
    message = _("This is not a CSV file with an email or phone column.")
    field = "file"


class NotifyNeedsEmail(BuyerError):
    code = "notify_needs_email"
    message = _("This buyer has no e-mail address to notify: add one or untick the box.")
    field = "notify"


class BuyerNotFound(BuyerError):
    code = "buyer_not_found"
    message = _("Choose a buyer, or give the e-mail or phone of a new one.")
    field = "email"


class EmailNotResendable(BuyerError):
    code = "email_not_resendable"
    message = _(
        "This e-mail was sent before e-mails were kept as sent: there is no copy to resend."
    )


class InvalidNote(BuyerError):
    code = "invalid_note"
    message = _("This note cannot be saved.")
    field = "text"


# --- Bulk actions -------------------------------------------------------------------------------


class InvalidBulkAction(BuyerError):
    code = "invalid_bulk_action"
    message = _("Choose an action: extend, revoke or re-send the access e-mail.")
    field = "action"


class InvalidBulkDays(BuyerError):
    code = "invalid_bulk_days"
    message = _("Give the number of days to extend by: a whole number.")
    field = "days"


class NothingSelected(BuyerError):
    code = "nothing_selected"
    message = _("No rows are chosen: tick some rows, or choose all rows matching the filter.")


class TooManyRows(BuyerError):
    code = "too_many_rows"
    message = _("Too many rows are chosen: narrow the filter.")


class AccessHasNoEnd(BuyerError):
    code = "access_has_no_end"
    message = _("This access has no end date: there is nothing to extend.")


class UndoNotPossible(BuyerError):
    code = "undo_not_possible"
    message = _("This operation cannot be undone.")


class UndoTooLate(BuyerError):
    code = "undo_too_late"
    message = _("This operation is too old to be undone.")


class ChangedSince(BuyerError):
    code = "changed_since"
    message = _("Changed since the operation: left as it is.")
