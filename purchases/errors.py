"""Why a purchase, a session or a cancellation is refused: the names of references 001 and 002.

Each has a stable `code` (its reference name in snake case) and a human message; a refusal has
written nothing.
"""

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class PurchaseError(DomainError):
    code = "purchase_refused"
    message = _("This purchase was refused.")


# --- CreatePurchase (reference 001) -------------------------------------------------------------


class AuthenticationRequired(PurchaseError):
    code = "authentication_required"
    message = _("Choose the buyer who buys.")
    field = "buyer"


class UserPurchasePinValueNoMatch(PurchaseError):
    code = "user_purchase_pin_value_no_match"
    message = _("The purchase PIN is wrong or missing.")
    field = "pin"


class PurchasePinLocked(PurchaseError):
    code = "purchase_pin_locked"
    message = _("The purchase PIN is locked after too many wrong tries; staff can reset it.")
    field = "pin"


class InvalidPaymentType(PurchaseError):
    code = "invalid_payment_type"
    message = _("This payment type is not accepted.")
    field = "payment_type"


class UserDoesNotHaveMandatorySubscription(PurchaseError):
    code = "user_does_not_have_mandatory_subscription"
    message = _("The buyer must first hold the shop's mandatory subscription.")
    field = "subscription"


class InvalidReturnOrCancelURL(PurchaseError):
    code = "invalid_return_or_cancel_url"
    message = _("This payment type sends the buyer to a payment page: give return and cancel URLs.")
    field = "return_url"


class InsufficientBalance(PurchaseError):
    code = "insufficient_balance"
    message = _("The buyer's e-wallet holds too little for this purchase.")
    field = "payment_type"


class ProductDoesNotExist(PurchaseError):
    code = "product_does_not_exist"
    message = _("There is no such subscription for sale.")
    field = "subscription"


class UserAlreadyHasProduct(PurchaseError):
    code = "user_already_has_product"
    message = _("The buyer already has access to this subscription.")
    field = "subscription"


class InvalidPricingModelForThisProduct(PurchaseError):
    code = "invalid_pricing_model_for_this_product"
    message = _("This subscription is not sold with this pricing model.")
    field = "pricing_model"


class PendingProductCanNotBePurchased(PurchaseError):
    code = "pending_product_can_not_be_purchased"
    message = _("A purchase of this subscription by this buyer is waiting for payment.")
    field = "subscription"


class ProductNotAvailableYet(PurchaseError):
    code = "product_not_available_yet"
    message = _("This subscription is not on sale yet.")
    field = "subscription"


class ProductExpired(PurchaseError):
    code = "product_expired"
    message = _("This subscription is no longer on sale.")
    field = "subscription"


class UserCantAcquire(PurchaseError):
    code = "user_cant_acquire"
    message = _("The buyer cannot get this subscription.")
    field = "subscription"


class SubscriptionNotAvailableForPurchaseType(PurchaseError):
    code = "subscription_not_available_for_purchase_type"
    message = _("This subscription is granted by staff only, never sold.")
    field = "subscription"


class WebpayIsntAvailableForRecurringPayment(PurchaseError):
    code = "webpay_isnt_available_for_recurring_payment"
    message = _("This payment type cannot pay a recurring subscription.")
    field = "payment_type"


class InvalidPricingModel(PurchaseError):
    code = "invalid_pricing_model"
    message = _("Choose a pricing model.")
    field = "pricing_model"


class InvalidCoupon(PurchaseError):
    code = "invalid_coupon"
    message = _("This coupon cannot be used.")
    field = "coupon"


class InvalidPurchaseSession(PurchaseError):
    code = "invalid_purchase_session"
    message = _("This purchase session is unknown, expired, used, or for another product.")
    field = "session"


class PaymentNotConfirmed(PurchaseError):
    code = "payment_not_confirmed"
    message = _("The payment is not confirmed yet.")


# --- CancelProduct (reference 002) --------------------------------------------------------------


class UserHasNoRightsToThisProduct(PurchaseError):
    code = "user_has_no_rights_to_this_product"
    message = _("This buyer has no purchase of this product.")


class PurchaseNotFound(PurchaseError):
    code = "purchase_not_found"
    message = _("There is no such purchase.")


class NonRenewableUserRight(PurchaseError):
    code = "non_renewable_user_right"
    message = _("A one-time purchase cannot be cancelled; finance can refund it.")


class PurchaseAlreadyCancelled(PurchaseError):
    code = "purchase_already_cancelled"
    message = _("This purchase is already cancelled.")


class PurchaseAlreadyInCancelling(PurchaseError):
    code = "purchase_already_in_cancelling"
    message = _("This purchase already stops at the end of its period.")


class PurchaseNotCancelling(PurchaseError):
    code = "purchase_not_cancelling"
    message = _("This purchase renews as usual: there is no stop to take back.")


class PurchasePeriodOver(PurchaseError):
    code = "purchase_period_over"
    message = _("The period this purchase stopped at is over: buy it again instead.")


class PurchaseAlreadyInPendingOBCancellation(PurchaseError):
    code = "purchase_already_in_pending_ob_cancellation"
    message = _("This purchase is waiting for payment; it cannot be cancelled until it completes.")


class RefundRefused(PurchaseError):
    code = "refund_refused"
    message = _("This refund was refused.")
    field = "amount"


# --- Renewals -----------------------------------------------------------------------------------


class ContractNotRetryable(PurchaseError):
    code = "contract_not_retryable"
    message = _("Only a past-due contract can be retried now.")


class InvalidCard(PurchaseError):
    code = "invalid_card"
    message = _("Give the new card's token.")
    field = "instrument"


# --- Pausing and resuming a contract -----------------------------------------------------------


class ContractEnded(PurchaseError):
    code = "contract_ended"
    message = _("This contract has ended; it cannot be paused or resumed.")


class ContractAlreadyPaused(PurchaseError):
    code = "contract_already_paused"
    message = _("This contract is paused already: resume it first.")


class ContractNotPaused(PurchaseError):
    code = "contract_not_paused"
    message = _("This contract is not paused.")


class ContractPastDue(PurchaseError):
    code = "contract_past_due"
    message = _("A renewal of this contract failed and is being retried: settle it before pausing.")


class ContractStopping(PurchaseError):
    code = "contract_stops_at_period_end"
    message = _("This contract stops at its period's end: take the stop back before pausing it.")


class ContractPaused(PurchaseError):
    code = "contract_paused"
    message = _("This contract is paused: resume it first, or end it now.")


class RenewalInFlight(PurchaseError):
    code = "renewal_in_flight"
    message = _("A renewal charge of this contract is running; try again in a few minutes.")


class InvalidPauseStart(PurchaseError):
    code = "invalid_pause_start"
    message = _("Choose when the pause starts: now or at the period's end.")
    field = "start"


class InvalidPauseLength(PurchaseError):
    code = "invalid_pause_length"
    message = _("Pause for at least one period.")
    field = "periods"


class PauseDateInPast(PurchaseError):
    code = "pause_date_in_past"
    message = _("The pause must end after it starts: choose a later date.")
    field = "until"


class PauseTooLong(PurchaseError):
    code = "pause_too_long"
    message = _("A pause may last at most %(days)s days.")
    field = "periods"


# --- The money journal --------------------------------------------------------------------------


# --- Plan changes (issue 19) --------------------------------------------------------------------


class PlanChangeError(PurchaseError):
    """A refusal of a plan change; its message is translated in the raiser's language. An
    ended, paused, past-due or stopping contract and a renewal in flight are refused with the
    pauses' errors above (ContractEnded, ContractPaused, ...), with a plan change's message."""

    def __init__(self, message=None, *, field=None, **args):
        super().__init__(str(message or self.message), field=field, **args)


class PlanChangeNotRecurring(PlanChangeError):
    code = "plan_change_not_recurring"
    message = _("A contract can only change to a recurring pricing model.")
    field = "pricing_model"


class PlanChangeCurrency(PlanChangeError):
    code = "plan_change_currency"
    message = _("A plan change cannot change the contract's currency.")
    field = "pricing_model"


class PlanChangeSamePricingModel(PlanChangeError):
    code = "plan_change_same_pricing_model"
    message = _("The contract is already on this pricing model.")
    field = "pricing_model"


class PlanChangeTiming(PlanChangeError):
    code = "plan_change_timing"
    message = _("Choose when the change happens: now or period_end.")
    field = "timing"


class PlanChangePreviewOutdated(PlanChangeError):
    code = "plan_change_preview_outdated"
    message = _("The amounts changed since the preview: preview the change again.")
    field = "token"


class PlanChangeAlreadyScheduled(PlanChangeError):
    code = "plan_change_already_scheduled"
    message = _("A plan change is already scheduled for the period's end: cancel it first.")


class PlanChangeDeclined(PlanChangeError):
    code = "plan_change_declined"
    message = _("The charge was declined; the contract is unchanged.")


class NoScheduledPlanChange(PlanChangeError):
    code = "no_scheduled_plan_change"
    message = _("No plan change is scheduled for this contract.")


class JournalError(PurchaseError):
    code = "journal_refused"
    message = _("This was refused.")


class PeriodClosed(JournalError):
    code = "period_closed"
    message = _(
        "This period is closed: book it in the open period, with a reference to the original."
    )


class PeriodNotClosable(JournalError):
    code = "period_not_closable"
    message = _("This period cannot be closed.")
    field = "month"


class CorrectionRefused(JournalError):
    code = "correction_refused"
    message = _("This correction was refused.")
    field = "amount"


class NotCorrectable(JournalError):
    code = "not_correctable"
    message = _("This entry cannot be corrected here.")
