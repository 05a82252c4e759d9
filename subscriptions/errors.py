"""Refusals of the catalog's rules: a stable `code`, a human `message` and the `field` concerned.

A form shows the message beside `field` (or above the form when it is None); an API returns the
code. Codes never change once published; messages may be reworded.
"""

from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, SeveralRefusals


class CatalogError(DomainError):
    code = "catalog_error"
    message = _("The catalog refused this change.")


class CatalogRefusals(SeveralRefusals, CatalogError):
    """Several of the catalog's rules broken at once (each shown beside its field)."""


class ControlCharacter(CatalogError):
    code = "control_character"
    message = _(
        "Line breaks, tabs and other control characters are not allowed here: keep it on one line."
    )


class FieldRequired(CatalogError):
    code = "required"
    message = _("This field is required.")


# --- Subscriptions ------------------------------------------------------------------------------


class PeriodOrAccessExpireRequired(CatalogError):
    code = "period_or_access_expire_required"
    message = _("Give a period in days or an access expiry date (one of the two is required).")
    field = "period"


class AccessStartNotBeforeExpire(CatalogError):
    code = "access_start_not_before_expire"
    message = _("Access must start before it expires.")
    field = "access_expire"


class SaleStartNotBeforeEnd(CatalogError):
    code = "sale_start_not_before_end"
    message = _("The sale must start before it ends.")
    field = "sale_end"


class DrmOptionWithoutDrm(CatalogError):
    code = "drm_option_without_drm"
    message = _("This option is allowed only with DRM: turn DRM on or clear the option.")


class CollectionTypeOnlyForCollections(CatalogError):
    code = "collection_type_only_for_collections"
    message = _("A collection type is only for subscriptions of the registration-form kind.")
    field = "collection_type"


class MandatorySubscriptionExists(CatalogError):
    code = "mandatory_subscription_exists"
    message = _("Another subscription is already mandatory; a shop may have only one.")
    field = "mandatory"


class InvalidUrl(CatalogError):
    code = "invalid_url"
    message = _("Enter a full web address starting with http:// or https://.")


class InvalidChoice(CatalogError):
    code = "invalid_choice"
    message = _("This is not one of the available choices.")


class NotANumberInRange(CatalogError):
    code = "not_a_number_in_range"
    message = _("Enter a whole number of at least 0.")


class PeriodTooLong(CatalogError):
    code = "period_too_long"
    message = _("A rental or billing period is at most 100 years.")


class DefaultPricingModelNotOffered(CatalogError):
    code = "default_pricing_model_not_offered"
    message = _("The default pricing model must be one of the pricing models offered.")
    field = "default_pricing_model"


class SingleSubscriptionHoldsOneMedia(CatalogError):
    code = "single_subscription_holds_one_media"
    message = _(
        "A single-media subscription holds at most one media; remove it first or make it a group."
    )
    field = "media"


class MediaAlreadyAttached(CatalogError):
    code = "media_already_attached"
    message = _("This media is already in the subscription.")
    field = "media"


class MediaNotAttached(CatalogError):
    code = "media_not_attached"
    message = _("This media is not in the subscription.")
    field = "media"


class SubscriptionArchived(CatalogError):
    code = "subscription_archived"
    message = _("This subscription is archived and can no longer be changed.")


# --- Media --------------------------------------------------------------------------------------


class MediaInUse(CatalogError):
    code = "media_in_use"
    message = _("This media is held by a subscription; remove it from every subscription first.")


# --- Pricing models -----------------------------------------------------------------------------


class NegativeAmount(CatalogError):
    code = "negative_amount"
    message = _("The amount cannot be negative.")
    field = "price"


class AmountTooPrecise(CatalogError):
    code = "amount_too_precise"
    message = _("This currency has fewer decimal places than this amount.")
    field = "price"


class RecurrenceRequired(CatalogError):
    code = "recurrence_required"
    message = _(
        "A recurring pricing model needs how often it renews (a unit and a count of 1 or more)."
    )
    field = "recurrence_unit"


class RecurrenceOnlyForRecurring(CatalogError):
    code = "recurrence_only_for_recurring"
    message = _("Only a recurring pricing model renews: clear the renewal or make it recurring.")
    field = "recurrence_unit"


class RentalHoursOnlyForOneTime(CatalogError):
    code = "rental_hours_only_for_one_time"
    message = _("Rental hours are for one-time access; a recurring model renews instead.")
    field = "rental_hours"


class TrialOnlyForRecurring(CatalogError):
    code = "trial_only_for_recurring"
    message = _("Trial days are only for recurring pricing models.")
    field = "trial_days"


class DeviceTypesRequired(CatalogError):
    code = "device_types_required"
    message = _("Choose the device types it grants, or grant all devices.")
    field = "device_types"


class PricingModelTermsFixed(CatalogError):
    code = "pricing_model_terms_fixed"
    message = _(
        "This pricing model has been sold: its currency and recurrence cannot change. "
        "Create a new pricing model instead."
    )


class PricingModelInUse(CatalogError):
    code = "pricing_model_in_use"
    message = _("This pricing model is offered by a subscription or was used in a purchase.")


# --- Coupons ------------------------------------------------------------------------------------


class CouponCodeTaken(CatalogError):
    code = "coupon_code_taken"
    message = _("A coupon with this code already exists (codes ignore letter case).")
    field = "code"


class InvalidCouponCode(CatalogError):
    code = "invalid_coupon_code"
    message = _("Use 3 to 32 letters, digits, dashes or underscores.")
    field = "code"


class InvalidDiscount(CatalogError):
    code = "invalid_discount"
    message = _("Give a percent above 0 and at most 100.")
    field = "percent"


class ValidFromNotBeforeUntil(CatalogError):
    code = "valid_from_not_before_until"
    message = _("The coupon must become valid before it stops being valid.")
    field = "valid_until"


class UseLimitBelowUses(CatalogError):
    code = "use_limit_below_uses"
    message = _("The use limit cannot be lower than the uses so far.")
    field = "use_limit"


class CouponNeedsSubscriptions(CatalogError):
    code = "coupon_needs_subscriptions"
    message = _("Choose the subscriptions it applies to, or make it apply to every subscription.")
    field = "subscriptions"


class CouponForAllHasSubscriptions(CatalogError):
    code = "coupon_for_all_has_subscriptions"
    message = _(
        "A coupon for every subscription takes no list: untick “applies to every subscription” "
        "or clear the chosen subscriptions."
    )
    field = "applies_to_all"


class CouponInUse(CatalogError):
    code = "coupon_in_use"
    message = _("This coupon was used in a purchase and cannot be deleted.")


class CouponNotValidYet(CatalogError):
    code = "coupon_not_valid_yet"
    message = _("This coupon is not valid yet.")
    field = "coupon"


class CouponExpired(CatalogError):
    code = "coupon_expired"
    message = _("This coupon has expired.")
    field = "coupon"


class CouponUsedUp(CatalogError):
    code = "coupon_used_up"
    message = _("This coupon has been used as many times as it may be.")
    field = "coupon"


class CouponNotApplicable(CatalogError):
    code = "coupon_not_applicable"
    message = _("This coupon does not apply to this subscription.")
    field = "coupon"


class CouponCurrencyMismatch(CatalogError):
    code = "coupon_currency_mismatch"
    message = _("This coupon takes off an amount in another currency than the price.")
    field = "coupon"


# --- Shop contacts ------------------------------------------------------------------------------


class ShopNameRequired(CatalogError):
    code = "shop_name_required"
    message = _("The seller's name is required.")
    field = "name"


class PhoneOrEmailRequired(CatalogError):
    code = "phone_or_email_required"
    message = _("Give a phone number or an e-mail address (at least one).")
    field = "phone"


class InvalidEmail(CatalogError):
    code = "invalid_email"
    message = _("Enter a valid e-mail address.")
    field = "email"
