"""Staff pages of the catalog: lists, details, forms and confirmations. Each calls a service."""

from copy import copy
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, TemplateView

from core.errors import show_on_form
from core.form_pages import ServiceFormView
from core.listing import ListPageView

from . import selectors, services
from .errors import CatalogError
from .filters import CouponFilter, MediaFilter, PricingModelFilter, SubscriptionFilter
from .forms import (
    AttachMediaForm,
    CouponForm,
    MediaForm,
    PricingModelForm,
    ShopContactsForm,
    SubscriptionForm,
)
from .models import Coupon, Media, PricingModel, ShopContacts, Subscription
from .tables import CouponTable, MediaTable, PricingModelTable, SubscriptionTable

MEDIA_PER_PAGE = 10


def shown(value):
    """A value as a detail page shows it: Yes/No, a dash for nothing, times in the shop's zone."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return value


def field_rows(instance, names):
    """(label, value) pairs for a detail page, with choices shown by their labels."""
    rows = []
    for name in names:
        field = instance._meta.get_field(name)
        value = getattr(instance, name)
        display = getattr(instance, f"get_{name}_display", None)
        if display and value:
            value = display()
        rows.append((capfirst(field.verbose_name), shown(value)))
    return rows


# --- Shared page machinery ---------------------------------------------------------------------


class CatalogPageMixin(PermissionRequiredMixin):
    """Breadcrumbs back to the list; the object, when the URL names one, found by its code."""

    model = None
    list_url = ""
    list_title = ""
    title = ""

    def get_object(self, queryset=None):
        if not hasattr(self, "_object"):
            self._object = get_object_or_404(self.model, code=self.kwargs["code"])
        return self._object

    def get_title(self):
        return self.title

    def get_breadcrumbs(self):
        crumbs = [(self.list_title, reverse(self.list_url))]
        if "code" in self.kwargs:
            crumbs.append((self.get_object().code, self.detail_url_of(self.get_object())))
        return [*crumbs, (self.get_title(), None)]

    def detail_url_of(self, instance):
        namespace = self.list_url.split(":")[0]
        return reverse(f"{namespace}:detail", kwargs={"code": instance.code})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(title=self.get_title(), breadcrumbs=self.get_breadcrumbs())
        return context


class CatalogDetailView(CatalogPageMixin, DetailView):
    def get_title(self):
        return str(self.object)

    def get_breadcrumbs(self):
        return [(self.list_title, reverse(self.list_url)), (self.object.code, None)]


class CatalogFormView(CatalogPageMixin, ServiceFormView):
    """A catalog form: a new object (from its list) or the URL's object edited (`edits_object`);
    once saved, its page."""

    edits_object = False
    # The service's checks of an unsaved row and the fields they read: with them, a form with a
    # mistyped field also shows every rule the rest breaks (ServiceFormView.check).
    rules: tuple | None = None

    def load(self):
        if self.edits_object:
            self.get_object()

    def check(self, data):
        if self.rules is None:
            return
        check_row, fields = self.rules
        row = copy(self.get_object()) if self.edits_object else self.model()
        for name, value in data.items():
            if name in fields:
                setattr(row, name, value)
        check_row(row)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.edits_object:
            kwargs["instance"] = self.get_object()
        return kwargs

    def get_heading(self):
        return (
            gettext("Edit {object}").format(object=self.get_object())
            if self.edits_object
            else self.get_title()
        )

    def get_cancel_url(self):
        if self.edits_object:
            return self.detail_url_of(self.get_object())
        return reverse(self.list_url)

    def get_success_url(self):
        return self.detail_url_of(self.result)


class DeleteConfirmView(CatalogPageMixin, TemplateView):
    """GET asks for confirmation (saying what will happen); POST calls the service."""

    template_name = "subscriptions/object_confirm_delete.html"

    def get_title(self):
        return gettext("Delete")

    def consequence(self):
        return gettext("{object} will be deleted. This cannot be undone.").format(
            object=self.get_object()
        )

    def perform(self):
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            object=self.get_object(),
            consequence=self.consequence(),
            cancel_url=self.detail_url_of(self.get_object()),
        )
        return context

    def post(self, request, *args, **kwargs):
        instance = self.get_object()
        try:
            message = self.perform()
        except CatalogError as error:
            messages.error(request, error.message)
            return redirect(self.detail_url_of(instance))
        messages.success(request, message)
        return redirect(self.list_url)


# --- Subscriptions -----------------------------------------------------------------------------


class SubscriptionPages:
    rules = (services.check_subscription, services.SUBSCRIPTION_FIELDS)
    model = Subscription
    list_url = "subscriptions:list"
    list_title = _("Subscriptions")


class SubscriptionListView(ListPageView):
    """Every subscription with its status, default price and media count; filters and export."""

    permission_required = "subscriptions.view_subscription"
    model = Subscription
    title = _("Subscriptions")
    table_class = SubscriptionTable
    filterset_class = SubscriptionFilter
    export_name = "subscriptions"
    create_url = "subscriptions:create"
    create_permission = "subscriptions.add_subscription"

    def get_queryset(self):
        return selectors.subscriptions_for_list()


SUBSCRIPTION_DETAIL_FIELDS = (
    "kind",
    "collection_type",
    "scope",
    "description",
    "materials",
    "period",
    "access_start",
    "access_expire",
    "activation",
    "sale_start",
    "sale_end",
    "stock",
    "provisioning_only",
    "mandatory",
    "buy_redirect_url",
    "custom_url",
    "ip_recovery",
    "device_ban",
    "buyer_commission",
    "drm",
    "downloadable_origin",
    "preview",
    "watermark",
    "watermark_email",
    "watermark_name",
    "watermark_ip",
    "created_at",
    "archived_at",
)


class SubscriptionDetailView(SubscriptionPages, CatalogDetailView):
    """The subscription's fields, offers, media (paged, with add/remove) and history."""

    permission_required = "subscriptions.view_subscription"
    template_name = "subscriptions/subscription_detail.html"

    def get_context_data(self, attach_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        subscription = self.object
        may_change = self.request.user.has_perm("subscriptions.change_subscription")
        editable = may_change and subscription.archived_at is None
        search = self.request.GET.get("media_q", "").strip()
        context.update(
            fields=field_rows(subscription, SUBSCRIPTION_DETAIL_FIELDS),
            offers=selectors.offers_of(subscription),
            media_page=Paginator(selectors.media_of(subscription), MEDIA_PER_PAGE).get_page(
                self.request.GET.get("media_page")
            ),
            editable=editable,
            may_delete=self.request.user.has_perm("subscriptions.delete_subscription"),
            attach_form=attach_form or AttachMediaForm(),
            media_search=search,
            media_candidates=selectors.media_to_attach(subscription, search)
            if editable and search
            else [],
        )
        return context


class SubscriptionCreateView(SubscriptionPages, CatalogFormView):
    permission_required = "subscriptions.add_subscription"
    form_class = SubscriptionForm
    title = _("New subscription")
    success_message = _("Subscription {result.code} created.")

    def perform(self, data):
        return services.create_subscription(**data)


class SubscriptionEditView(SubscriptionPages, CatalogFormView):
    permission_required = "subscriptions.change_subscription"
    form_class = SubscriptionForm
    title = _("Edit")
    edits_object = True
    success_message = _("Subscription {result.code} saved.")

    def perform(self, data):
        return services.update_subscription(subscription=self.get_object(), **data)


class SubscriptionDeleteView(SubscriptionPages, DeleteConfirmView):
    permission_required = "subscriptions.delete_subscription"

    def get_title(self):
        if services.records_keeping_subscription(self.get_object()):
            return gettext("Archive")
        return gettext("Delete")

    def consequence(self):
        subscription = self.get_object()
        records = services.records_keeping_subscription(subscription)
        if records:
            return gettext(
                "{subscription} has {records}, so it will be archived, not deleted: it stays "
                "readable with its history, can no longer be changed or sold, and is no longer "
                "mandatory."
            ).format(subscription=subscription, records=", ".join(records))
        return gettext(
            "{subscription} has no purchases or accesses, so it will be deleted with its media "
            "list and pricing offers (the media and pricing models themselves stay). This "
            "cannot be undone."
        ).format(subscription=subscription)

    def perform(self):
        subscription = self.get_object()
        outcome = services.delete_or_archive_subscription(subscription=subscription)
        return gettext("Subscription {code} {outcome}.").format(
            code=subscription.code, outcome=outcome
        )


class AttachMediaView(SubscriptionDetailView):
    """POST a media code to add it to the subscription; a refusal shows beside the field."""

    permission_required = "subscriptions.change_subscription"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.object = subscription = self.get_object()
        form = AttachMediaForm(request.POST)
        if form.is_valid():
            try:
                services.attach_media(subscription=subscription, media=form.cleaned_data["media"])
            except CatalogError as error:
                show_on_form(form, error)
            else:
                media = form.cleaned_data["media"]
                messages.success(request, gettext("“{title}” added.").format(title=media.title))
                return redirect(self.detail_url_of(subscription) + "#media")
        return self.render_to_response(self.get_context_data(attach_form=form))


class DetachMediaView(SubscriptionPages, CatalogPageMixin, TemplateView):
    permission_required = "subscriptions.change_subscription"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        subscription = self.get_object()
        media = get_object_or_404(Media, code=kwargs["media_code"])
        try:
            services.detach_media(subscription=subscription, media=media)
        except CatalogError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                gettext("“{title}” removed from this subscription.").format(title=media.title),
            )

        return redirect(self.detail_url_of(subscription) + "#media")


# --- Media -------------------------------------------------------------------------------------


class MediaPages:
    rules = (services.check_media, services.MEDIA_FIELDS)
    model = Media
    list_url = "media:list"
    list_title = _("Media")


class MediaListView(ListPageView):
    permission_required = "subscriptions.view_media"
    model = Media
    title = _("Media")
    table_class = MediaTable
    filterset_class = MediaFilter
    export_name = "media"
    create_url = "media:create"
    create_permission = "subscriptions.add_media"

    def get_queryset(self):
        return selectors.media_for_list()


class MediaDetailView(MediaPages, CatalogDetailView):
    permission_required = "subscriptions.view_media"
    template_name = "subscriptions/media_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        holders = Subscription.objects.filter(media_links__media=self.object).order_by("name", "pk")
        context.update(
            fields=field_rows(
                self.object,
                (
                    "kind",
                    "status",
                    "width",
                    "height",
                    "duration",
                    "poster_url",
                    "hls_url",
                    "download_url",
                    "created_at",
                ),
            ),
            holders=Paginator(holders, 20).get_page(self.request.GET.get("page")),
        )
        return context


class MediaCreateView(MediaPages, CatalogFormView):
    permission_required = "subscriptions.add_media"
    form_class = MediaForm
    title = _("New media")
    success_message = _("Media {result.code} created.")

    def perform(self, data):
        return services.create_media(**data)


class MediaEditView(MediaPages, CatalogFormView):
    permission_required = "subscriptions.change_media"
    form_class = MediaForm
    title = _("Edit")
    edits_object = True
    success_message = _("Media {result.code} saved.")

    def perform(self, data):
        return services.update_media(media=self.get_object(), **data)


class MediaDeleteView(MediaPages, DeleteConfirmView):
    permission_required = "subscriptions.delete_media"

    def perform(self):
        media = self.get_object()
        services.delete_media(media=media)
        return gettext("Media {code} deleted.").format(code=media.code)


# --- Pricing models ----------------------------------------------------------------------------


class PricingModelPages:
    rules = (services.check_pricing_model, services.PRICING_MODEL_FIELDS)
    model = PricingModel
    list_url = "pricing_models:list"
    list_title = _("Pricing models")


class PricingModelListView(ListPageView):
    permission_required = "subscriptions.view_pricingmodel"
    model = PricingModel
    title = _("Pricing models")
    table_class = PricingModelTable
    filterset_class = PricingModelFilter
    export_name = "pricing-models"
    create_url = "pricing_models:create"
    create_permission = "subscriptions.add_pricingmodel"

    def get_queryset(self):
        return selectors.pricing_models_for_list()


class PricingModelDetailView(PricingModelPages, CatalogDetailView):
    permission_required = "subscriptions.view_pricingmodel"
    template_name = "subscriptions/pricingmodel_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        pricing_model = self.object
        context.update(
            fields=[
                (_("Price"), pricing_model.price_display),
                (_("Renewal"), pricing_model.recurrence_display),
                *field_rows(
                    pricing_model,
                    ("rental_hours", "trial_days", "quality", "grant_all_devices"),
                ),
                (
                    "Device types",
                    ", ".join(
                        str(PricingModel.DeviceType(device).label)
                        for device in pricing_model.device_types
                    )
                    or "—",
                ),
            ],
            offers=pricing_model.offers.select_related("subscription").order_by(
                "subscription__name", "pk"
            )[:50],
        )
        return context


class PricingModelCreateView(PricingModelPages, CatalogFormView):
    permission_required = "subscriptions.add_pricingmodel"
    form_class = PricingModelForm
    title = _("New pricing model")
    success_message = _("Pricing model {result.code} created.")

    def perform(self, data):
        return services.create_pricing_model(**data)


class PricingModelEditView(PricingModelPages, CatalogFormView):
    permission_required = "subscriptions.change_pricingmodel"
    form_class = PricingModelForm
    title = _("Edit")
    edits_object = True
    success_message = _("Pricing model {result.code} saved.")

    def perform(self, data):
        return services.update_pricing_model(pricing_model=self.get_object(), **data)


class PricingModelDeleteView(PricingModelPages, DeleteConfirmView):
    permission_required = "subscriptions.delete_pricingmodel"

    def perform(self):
        pricing_model = self.get_object()
        services.delete_pricing_model(pricing_model=pricing_model)
        return gettext("Pricing model {code} deleted.").format(code=pricing_model.code)


# --- Coupons -----------------------------------------------------------------------------------


class CouponPages:
    rules = (services.check_coupon, services.COUPON_FIELDS)
    model = Coupon
    list_url = "coupons:list"
    list_title = _("Coupons")


class CouponListView(ListPageView):
    permission_required = "subscriptions.view_coupon"
    model = Coupon
    title = _("Coupons")
    table_class = CouponTable
    filterset_class = CouponFilter
    export_name = "coupons"
    create_url = "coupons:create"
    create_permission = "subscriptions.add_coupon"

    def get_queryset(self):
        return selectors.coupons_for_list()


class CouponDetailView(CouponPages, CatalogDetailView):
    permission_required = "subscriptions.view_coupon"
    template_name = "subscriptions/coupon_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        coupon = self.object
        context.update(
            fields=[
                (_("Discount"), coupon.discount_display),
                *field_rows(
                    coupon,
                    (
                        "description",
                        "valid_from",
                        "valid_until",
                        "use_limit",
                        "uses",
                        "uses_per_buyer",
                        "first_purchase_only",
                        "applies_to_all",
                        "created_at",
                    ),
                ),
            ],
            subscriptions=coupon.subscriptions.order_by("name", "pk")[:100],
        )
        return context


class CouponCreateView(CouponPages, CatalogFormView):
    permission_required = "subscriptions.add_coupon"
    form_class = CouponForm
    title = _("New coupon")
    success_message = _("Coupon {result.code} created.")

    def perform(self, data):
        return services.create_coupon(**data)


class CouponEditView(CouponPages, CatalogFormView):
    permission_required = "subscriptions.change_coupon"
    form_class = CouponForm
    title = _("Edit")
    edits_object = True
    success_message = _("Coupon {result.code} saved.")

    def perform(self, data):
        return services.update_coupon(coupon=self.get_object(), **data)


class CouponDeleteView(CouponPages, DeleteConfirmView):
    permission_required = "subscriptions.delete_coupon"

    def perform(self):
        coupon = self.get_object()
        services.delete_coupon(coupon=coupon)
        return gettext("Coupon {code} deleted.").format(code=coupon.code)


# --- Shop contacts -----------------------------------------------------------------------------


class ShopContactsView(PermissionRequiredMixin, TemplateView):
    """The seller's contacts as buyers see them (reference 004 `contacts`)."""

    permission_required = "subscriptions.view_shopcontacts"
    template_name = "subscriptions/shopcontacts_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contacts = services.get_shop_contacts()
        context.update(
            title=_("Shop contacts"),
            breadcrumbs=[(_("Shop contacts"), None)],
            entered=not contacts._state.adding,
            fields=field_rows(contacts, ("name", "phone", "email", "site", "description")),
        )
        return context


class ShopContactsEditView(ServiceFormView):
    permission_required = "subscriptions.change_shopcontacts"
    form_class = ShopContactsForm
    title = _("Edit")
    heading = _("Edit the shop's contacts")
    success_message = _("Shop contacts saved.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": services.get_shop_contacts()}

    def get_breadcrumbs(self):
        return [(_("Shop contacts"), reverse("contacts:detail")), (_("Edit"), None)]

    def get_cancel_url(self):
        return reverse("contacts:detail")

    def get_success_url(self):
        return reverse("contacts:detail")

    def perform(self, data):
        return services.update_shop_contacts(**data)

    def check(self, data):
        fields = {name: data[name] for name in services.CONTACT_FIELDS if name in data}
        services.check_shop_contacts(ShopContacts(**fields))
