"""Staff pages for buyers, their accesses and e-wallets. Each view parses input, calls a service
or selector and renders; a refusal is shown beside the field it concerns (core.form_pages)."""

import re

from csp.constants import NONE, SELF
from csp.decorators import csp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.generic import DetailView, FormView

from core.errors import show_on_form
from core.form_pages import ServiceFormView
from core.listing import ListPageView
from core.roles import MONEY_REPORTS
from subscriptions.models import Subscription

from . import bulk, imports, notifications, selectors, services
from .errors import BuyerError
from .exports import ACCESSES_REPORT, BUYERS_REPORT, WALLET_LEDGER_REPORT
from .filters import AccessFilter, BuyerFilter, SentEmailFilter, WalletEntryFilter
from .forms import (
    AccessForm,
    AccessPasswordForm,
    BuyerForm,
    GrantAccessForm,
    ImportForm,
    PinForm,
    RevokeForm,
    WalletForm,
)
from .models import Access, BulkOperation, Buyer, SentEmail, WalletEntry
from .tables import AccessTable, BuyerTable, SentEmailTable, WalletEntryTable

DETAIL_ROWS = 50
PUBLIC_CODE = re.compile(r"[A-Za-z0-9]{1,32}")
IMPORT_SESSION_KEY = "buyers_import_operation"
IMPORT_BAD_ROWS_SHOWN = 1000


def buyers_crumb():
    return (_("Buyers"), reverse("buyers:list"))


def accesses_crumb():
    return (_("Accesses"), reverse("accesses:list"))


# --- Lists --------------------------------------------------------------------------------------


class BulkActionsListMixin:
    """A list whose rows can be ticked for the bulk actions (buyers/bulk_views.py): the checkbox
    column and the action form, only for staff who may run one of them."""

    template_name = "buyers/bulk_list_page.html"
    bulk_url = ""

    def bulk_actions(self):
        from .bulk_views import bulk_actions_for

        return bulk_actions_for(self.request.user)

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        if not self.bulk_actions():
            kwargs["exclude"] = (*kwargs.get("exclude", ()), "selected")
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        for key in ("page", "after", "before", "export"):
            query.pop(key, None)
        context.update(
            bulk_actions=self.bulk_actions(),
            bulk_url=reverse(self.bulk_url) + (f"?{query.urlencode()}" if query else ""),
            bulk_limit=settings.BULK_ACTION_LIMIT,
            bulk_max_days=settings.BULK_EXTEND_MAX_DAYS,
        )
        return context


class BuyerListView(BulkActionsListMixin, ListPageView):
    """Buyers, searchable by e-mail, phone and name; active accesses and balances per row."""

    permission_required = "buyers.view_buyer"
    model = Buyer
    title = _("Buyers")
    table_class = BuyerTable
    filterset_class = BuyerFilter
    export_name = "buyers"
    csv_report = BUYERS_REPORT
    bulk_url = "buyers:bulk"
    create_url = "buyers:create"
    create_permission = "buyers.add_buyer"

    def get_queryset(self):
        return selectors.buyers_for_list()


class AccessListView(BulkActionsListMixin, ListPageView):
    """Every access; filter by subscription, status and e-mail (`listbuyers`)."""

    permission_required = "buyers.view_access"
    model = Access
    title = _("Accesses")
    table_class = AccessTable
    filterset_class = AccessFilter
    export_name = "accesses"
    csv_report = ACCESSES_REPORT
    bulk_url = "accesses:bulk"

    def get_queryset(self):
        return selectors.accesses_for_list()


class WalletEntryListView(ListPageView):
    """The e-wallet ledger of every buyer, for finance: filter, sort, export."""

    permission_required = "buyers.view_walletentry"
    model = WalletEntry
    title = _("E-wallet ledger")
    table_class = WalletEntryTable
    filterset_class = WalletEntryFilter
    export_name = "wallet-ledger"
    export_permission = MONEY_REPORTS
    csv_report = WALLET_LEDGER_REPORT

    def get_queryset(self):
        return WalletEntry.objects.select_related("buyer", "created_by")


# --- Detail pages -------------------------------------------------------------------------------


class BuyerDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "buyers.view_buyer"
    model = Buyer
    slug_field = slug_url_kwarg = "code"
    template_name = "buyers/buyer_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        buyer, user = self.object, self.request.user
        accesses = list(
            buyer.accesses.select_related("subscription", "granted_by", "revoked_by")[
                : DETAIL_ROWS + 1
            ]
        )
        ledger = list(buyer.wallet_entries.select_related("created_by")[: DETAIL_ROWS + 1])
        context.update(
            title=str(buyer),
            breadcrumbs=[buyers_crumb(), (buyer.code, None)],
            accesses=accesses[:DETAIL_ROWS],
            more_accesses=len(accesses) > DETAIL_ROWS,
            ledger=ledger[:DETAIL_ROWS],
            more_ledger=len(ledger) > DETAIL_ROWS,
            balances=selectors.wallet_balances(buyer),
            may_view_accesses=user.has_perm("buyers.view_access"),
            may_view_ledger=user.has_perm("buyers.view_walletentry"),
            may_edit=user.has_perm("buyers.change_buyer"),
            may_set_pin=user.has_perm("buyers.set_pin"),
            may_adjust_wallet=user.has_perm("buyers.adjust_wallet"),
            may_grant=user.has_perm("buyers.add_access"),
        )
        return context


class AccessDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "buyers.view_access"
    slug_field = slug_url_kwarg = "code"
    template_name = "buyers/access_detail.html"

    def get_queryset(self):
        return selectors.accesses_for_list()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        access, user = self.object, self.request.user
        context.update(
            title=gettext("Access {code}").format(code=access.code),
            breadcrumbs=[accesses_crumb(), (access.code, None)],
            activations=access.activations.all()[:DETAIL_ROWS],
            sent_emails=access.sent_emails.all()[:DETAIL_ROWS],
            # The access password is a credential: shown to those who manage accesses.
            may_see_password=user.has_perm("buyers.change_access"),
            may_edit=user.has_perm("buyers.change_access") and access.revoked_at is None,
            may_revoke=user.has_perm("buyers.revoke_access") and access.revoked_at is None,
        )
        return context


class SubscriptionAccessesView(PermissionRequiredMixin, DetailView):
    """A subscription's accesses, filtered by e-mail (`listbuyers`), with "Grant access"."""

    permission_required = "buyers.view_access"
    model = Subscription
    slug_field = slug_url_kwarg = "code"
    template_name = "buyers/subscription_accesses.html"
    context_object_name = "subscription"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=gettext("Accesses to {name}").format(name=self.object.name),
            breadcrumbs=[accesses_crumb(), (self.object.name, None)],
            **selectors.subscription_accesses_panel(
                self.object, email=self.request.GET.get("email", ""), user=self.request.user
            ),
        )
        return context


# --- Forms --------------------------------------------------------------------------------------


class BuyerObjectMixin:
    def load(self):
        self.buyer = get_object_or_404(Buyer, code=self.kwargs["code"])

    def get_breadcrumbs(self):
        return [
            buyers_crumb(),
            (self.buyer.code, reverse("buyers:detail", args=[self.buyer.code])),
            (self.get_title(), None),
        ]

    def get_cancel_url(self):
        return reverse("buyers:detail", args=[self.buyer.code])

    def get_success_url(self):
        return reverse("buyers:detail", args=[self.buyer.code])


class BuyerCreateView(ServiceFormView):
    permission_required = "buyers.add_buyer"
    form_class = BuyerForm
    title = _("New buyer")
    success_message = _("Buyer {result.code} added.")

    def get_breadcrumbs(self):
        return [buyers_crumb(), (self.title, None)]

    def get_cancel_url(self):
        return reverse("buyers:list")

    def perform(self, data):
        return services.create_buyer(**data)

    def get_success_url(self):
        return reverse("buyers:detail", args=[self.result.code])


class BuyerEditView(BuyerObjectMixin, ServiceFormView):
    permission_required = "buyers.change_buyer"
    form_class = BuyerForm
    title = _("Edit buyer")
    success_message = _("Buyer saved.")

    def get_initial(self):
        return {
            "email": self.buyer.email,
            "phone": self.buyer.phone,
            "name": self.buyer.name,
            "language": self.buyer.language,
        }

    def perform(self, data):
        return services.update_buyer(buyer=self.buyer, **data)


class BuyerPinView(BuyerObjectMixin, ServiceFormView):
    permission_required = "buyers.set_pin"
    form_class = PinForm
    template_name = "buyers/buyer_pin_form.html"
    title = _("Set the purchase PIN")
    submit_label = _("Set PIN")
    success_message = _("Purchase PIN set; it is unlocked.")

    def perform(self, data):
        return services.set_purchase_pin(buyer=self.buyer, pin=data["pin"])


class WalletEntryCreateView(BuyerObjectMixin, ServiceFormView):
    permission_required = "buyers.adjust_wallet"
    form_class = WalletForm
    title = _("Top up or adjust the e-wallet")
    submit_label = _("Add to the ledger")
    success_message = _(
        "E-wallet entry added: the balance is {result.balance_after} {result.currency}."
    )

    def perform(self, data):
        if data["kind"] == WalletEntry.Kind.ADJUSTMENT:
            return services.adjust_wallet(
                buyer=self.buyer,
                amount=data["amount"],
                currency=data["currency"],
                reason=data["reason"],
                created_by=self.request.user,
            )
        return services.top_up_wallet(
            buyer=self.buyer,
            amount=data["amount"],
            currency=data["currency"],
            reason=data["reason"],
            created_by=self.request.user,
        )


def _grant_arguments(data) -> dict:
    arguments = {
        key: data[key]
        for key in (
            "access_start",
            "access_expire",
            "custom_url",
            "use_subscription_custom_url",
            "notify",
        )
    }
    if data.get("activation_limit") is not None:
        arguments["activation_limit"] = data["activation_limit"]
    return arguments


def granted_again_message(access: Access) -> str:
    """What staff are told when a grant met the buyer's live access (no second one is made)."""
    if access.grant_outcome == services.GrantOutcome.EXTENDED:
        return gettext(
            "{buyer} already had a live access to {subscription}: its end or activation limit "
            "was raised to this grant's. No second access was made and nothing was e-mailed."
        ).format(buyer=access.buyer, subscription=access.subscription.name)
    return gettext(
        "{buyer} already has a live access to {subscription} reaching as far as this grant: it "
        "is kept as it was. No second access was made and nothing was e-mailed."
    ).format(buyer=access.buyer, subscription=access.subscription.name)


class GrantAccessMixin:
    permission_required = "buyers.add_access"
    form_class = GrantAccessForm
    submit_label = _("Grant access")

    def announce(self, cleaned_data):
        if self.result.grant_outcome != services.GrantOutcome.CREATED:
            messages.warning(self.request, granted_again_message(self.result))
        else:
            super().announce(cleaned_data)

    def get_success_message(self, cleaned_data):
        if cleaned_data["notify"]:
            return gettext(
                "Access granted to {buyer}: give them the access password below (it is being "
                "e-mailed to them)."
            ).format(buyer=self.result.buyer)
        return gettext("Access granted to {buyer}: give them the access password below.").format(
            buyer=self.result.buyer
        )

    def get_success_url(self):
        return reverse("accesses:detail", args=[self.result.code])


class GrantAccessForBuyerView(GrantAccessMixin, BuyerObjectMixin, ServiceFormView):
    title = _("Grant access")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "for_subscription": False}

    def perform(self, data):
        return services.grant_access(
            subscription=data["subscription"],
            buyer=self.buyer,
            granted_by=self.request.user,
            **_grant_arguments(data),
        )

    def get_success_url(self):
        return GrantAccessMixin.get_success_url(self)


class GrantAccessForSubscriptionView(GrantAccessMixin, ServiceFormView):
    def load(self):
        self.subscription = get_object_or_404(Subscription, code=self.kwargs["code"])

    def get_title(self):
        return gettext("Grant access to {name}").format(name=self.subscription.name)

    def get_breadcrumbs(self):
        return [
            accesses_crumb(),
            (self.subscription.name, self.get_cancel_url()),
            (_("Grant access"), None),
        ]

    def get_cancel_url(self):
        return reverse("accesses:subscription", args=[self.subscription.code])

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "for_subscription": True}

    def perform(self, data):
        return services.grant_access(
            subscription=self.subscription,
            email=data["email"],
            phone=data["phone"],
            name=data["name"],
            granted_by=self.request.user,
            **_grant_arguments(data),
        )


class AccessObjectMixin:
    def load(self):
        self.access = get_object_or_404(
            Access.objects.select_related("buyer", "subscription"), code=self.kwargs["code"]
        )

    def get_breadcrumbs(self):
        return [
            accesses_crumb(),
            (self.access.code, reverse("accesses:detail", args=[self.access.code])),
            (self.get_title(), None),
        ]

    def get_cancel_url(self):
        return reverse("accesses:detail", args=[self.access.code])

    def get_success_url(self):
        return reverse("accesses:detail", args=[self.access.code])


class AccessEditView(AccessObjectMixin, ServiceFormView):
    permission_required = "buyers.change_access"
    form_class = AccessForm
    title = _("Change access")
    success_message = _("Access saved.")

    def get_initial(self):
        access = self.access
        return {
            "activation_limit": access.activation_limit,
            "access_start": access.access_start,
            "access_expire": access.access_expire,
            "custom_url": access.custom_url,
            "use_subscription_custom_url": access.use_subscription_custom_url,
            "notify": bool(access.buyer.email),
        }

    def perform(self, data):
        return services.update_access(access=self.access, **data)

    def get_success_message(self, cleaned_data):
        if cleaned_data["notify"]:
            return gettext("Access saved. The buyer will be told by e-mail.")
        return gettext("Access saved.")


class LiveAccessActionMixin(AccessObjectMixin):
    """A form about a live access that may tell the buyer by e-mail: a revoked access is not
    acted on (`revoked_message` says why), and "tell the buyer" starts unticked for a buyer
    without an e-mail address."""

    revoked_message = ""

    def get(self, request, *args, **kwargs):
        if self.access.revoked_at is not None:
            return self.revoked()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if self.access.revoked_at is not None:
            return self.revoked()
        return super().post(request, *args, **kwargs)

    def revoked(self):
        messages.info(self.request, self.revoked_message)
        return redirect(self.get_success_url())

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if not self.access.buyer.email:
            kwargs["initial"] = {"notify": False}
        return kwargs

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "access": self.access}


class AccessRevokeView(LiveAccessActionMixin, ServiceFormView):
    permission_required = "buyers.revoke_access"
    form_class = RevokeForm
    template_name = "buyers/access_confirm_revoke.html"
    title = _("Revoke access")
    submit_label = _("Revoke")
    success_message = _("Access revoked. The row is kept, marked revoked.")
    revoked_message = _("This access is already revoked.")

    def perform(self, data):
        return services.revoke_access(
            access=self.access, revoked_by=self.request.user, notify=data["notify"]
        )


class AccessPasswordView(LiveAccessActionMixin, ServiceFormView):
    """A new random access password, the old one refused at once; the buyer told if staff say."""

    permission_required = "buyers.change_access"
    form_class = AccessPasswordForm
    template_name = "buyers/access_password_form.html"
    title = _("New access password")
    submit_label = _("Set a new password")
    revoked_message = _("This access is revoked: its password no longer matters.")

    def perform(self, data):
        return services.reset_access_password(access=self.access, notify=data["notify"])

    def get_success_message(self, cleaned_data):
        if cleaned_data["notify"]:
            return gettext(
                "New access password: {password}. The old one no longer works. The buyer will "
                "get it by e-mail."
            ).format(password=self.result.hash)
        return gettext("New access password: {password}. The old one no longer works.").format(
            password=self.result.hash
        )


# --- Import -------------------------------------------------------------------------------------


class BuyerImportView(PermissionRequiredMixin, FormView):
    """Upload a CSV file, see the good and bad rows, then import the good ones in the
    background, in chunks, with a progress page (buyers/bulk.py)."""

    permission_required = "buyers.import_buyers"
    form_class = ImportForm
    template_name = "buyers/buyer_import.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=_("Import buyers"),
            breadcrumbs=[buyers_crumb(), (_("Import"), None)],
            bad_rows_shown=IMPORT_BAD_ROWS_SHOWN,
        )
        return context

    def post(self, request, *args, **kwargs):
        if "confirm" in request.POST:
            return self.confirm()
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            upload = form.cleaned_data["file"]
            text = imports.decode_upload(upload.read(imports.MAX_IMPORT_BYTES + 1))
            preview = imports.read_buyers_csv(text)
        except BuyerError as error:
            show_on_form(form, error)
            return self.form_invalid(form)
        # The good rows wait in the operation, not the session (100,000 rows are megabytes).
        operation = bulk.record_import(
            good_rows=preview.good, bad_count=len(preview.bad), started_by=self.request.user
        )
        self.request.session[IMPORT_SESSION_KEY] = operation.code
        return self.render_to_response(self.get_context_data(form=form, preview=preview))

    def confirm(self):
        code = self.request.session.get(IMPORT_SESSION_KEY)
        operation = BulkOperation.objects.filter(
            code=str(code or ""),
            action=BulkOperation.Action.IMPORT,
            state=BulkOperation.State.PREVIEW,
            created_by=self.request.user,
        ).first()
        if operation is None:
            messages.error(self.request, gettext("Upload the file again: the preview has expired."))
            return redirect("buyers:import")
        try:
            bulk.start_import(operation=operation)
        except BuyerError as error:
            messages.error(
                self.request, gettext("Nothing was imported: %(why)s") % {"why": error.message}
            )
            return redirect("buyers:import")
        del self.request.session[IMPORT_SESSION_KEY]
        messages.success(
            self.request,
            ngettext(
                "Importing %(count)s buyer: this page shows how far it has got.",
                "Importing %(count)s buyers: this page shows how far it has got.",
                operation.total,
            )
            % {"count": f"{operation.total:,}"},
        )
        return redirect("accesses:bulk_detail", code=operation.code)


# --- E-mails as sent ----------------------------------------------------------------------------


def emails_visible_to(user):
    """Shop staff see the e-mails sent to buyers; admins every e-mail (one whose buyer is gone
    too). The bodies are left out of lists: they are read one e-mail at a time."""
    emails = SentEmail.objects.select_related("buyer").defer("text_body", "html_body")
    return emails if user.is_superuser else emails.filter(buyer__isnull=False)


class SentEmailListView(ListPageView):
    """Every e-mail sent, newest first; filter by buyer, kind and date. Those waiting in the
    outbox or failed are listed above (purchases' panel: it knows every kind of e-mail)."""

    permission_required = "buyers.view_sentemail"
    model = SentEmail
    title = _("E-mails")
    table_class = SentEmailTable
    filterset_class = SentEmailFilter
    template_name = "buyers/sentemail_list.html"

    def get_queryset(self):
        return emails_visible_to(self.request.user).select_related("resent_from")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        code = (self.request.GET.get("buyer") or "").strip()
        # Only a code-shaped value is looked up (PostgreSQL refuses a NUL in a query).
        known = PUBLIC_CODE.fullmatch(code)
        context["filtered_buyer"] = Buyer.objects.filter(code=code).first() if known else None
        return context


class SentEmailObjectMixin:
    def get_email(self):
        emails = emails_visible_to(self.request.user).defer(None)
        return get_object_or_404(emails, code=self.kwargs["code"])


class SentEmailDetailView(SentEmailObjectMixin, PermissionRequiredMixin, DetailView):
    """One e-mail as sent: headers, the text body, the HTML body in a sandboxed frame, its
    copies, and "Resend"."""

    permission_required = "buyers.view_sentemail"
    template_name = "buyers/sentemail_detail.html"
    context_object_name = "email"

    def get_object(self, queryset=None):
        return self.get_email()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        email = self.object
        crumbs = [(_("E-mails"), reverse("emails:list")), (email.code, None)]
        context.update(
            title=email.subject,
            breadcrumbs=crumbs,
            copies=email.resends.order_by("-sent_at", "-pk")[:DETAIL_ROWS],
            may_resend=self.request.user.has_perm("buyers.resend_email") and email.has_bodies,
        )
        return context


@method_decorator(xframe_options_sameorigin, name="dispatch")
@method_decorator(
    csp(
        {
            # The body of an e-mail is not ours: it runs nothing and loads nothing but inline
            # styles and data: images, in a frame of our own page only.
            "default-src": [NONE],
            "style-src": ["'unsafe-inline'"],
            "img-src": ["data:"],
            "frame-ancestors": [SELF],
            "form-action": [NONE],
            "base-uri": [NONE],
            "sandbox": [""],
        }
    ),
    name="dispatch",
)
class SentEmailPreviewView(SentEmailObjectMixin, PermissionRequiredMixin, View):
    """The HTML body as sent, for the detail page's sandboxed frame."""

    permission_required = "buyers.view_sentemail"

    def get(self, request, *args, **kwargs):
        email = self.get_email()
        body = email.html_body or "<p>No HTML body was kept for this e-mail.</p>"
        response = HttpResponse(body, content_type="text/html; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response


class SentEmailResendView(SentEmailObjectMixin, PermissionRequiredMixin, View):
    """POST: mail a copy of the e-mail as sent to the same address, through the outbox."""

    permission_required = "buyers.resend_email"

    def post(self, request, *args, **kwargs):
        email = self.get_email()
        try:
            with transaction.atomic():
                notifications.queue_resend(email=email, resent_by=request.user)
        except BuyerError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(
                request,
                gettext("A copy is on its way to {to}; it is listed here once sent.").format(
                    to=email.to
                ),
            )
        return redirect("emails:detail", code=email.code)
