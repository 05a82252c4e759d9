"""Staff pages of purchases: lists with totals, a purchase's timeline, buying for a buyer,
cancelling and refunding. Each calls a service; a refusal shows beside its field."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Count, Sum
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from django.views.generic import DetailView, TemplateView

from buyers.models import Buyer
from buyers.services import add_buyer_note
from core.errors import DomainError, show_on_form
from core.form_pages import ServiceFormView
from core.listing import ListPageView
from core.money import quantize
from core.roles import MONEY_REPORTS

from . import renewals
from .filters import ContractFilter, PurchaseFilter, PurchaseSessionFilter
from .forms import (
    BuyerNoteForm,
    CancelPurchaseForm,
    ChangeCardForm,
    ConfirmForm,
    EndContractForm,
    ExplainForm,
    NewPurchaseForm,
    RefundPurchaseForm,
)
from .gateways import get_gateway
from .gateways.sandbox import pay_on_sandbox_page
from .journal import selectors as journal_selectors
from .journal.models import REVENUE_KINDS, JournalEntry, Kind
from .models import (
    WALLET,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    SandboxCharge,
)
from .reports.exports import CONTRACTS_REPORT, PURCHASES_REPORT
from .services import plan_changes
from .services.cancellations import (
    cancel_purchase,
    product_view,
    reactivate_purchase,
    refund_purchase,
)
from .services.checkout import confirm_purchase, create_purchase, quote_purchase
from .services.contracts import change_contract_card
from .support import timeline
from .support.explain import explain, find_buyer
from .tables import ContractTable, PurchaseSessionTable, PurchaseTable


class PurchaseListView(ListPageView):
    """Purchases, with the money taken per currency by exactly the filtered rows."""

    permission_required = "purchases.view_purchase"
    model = Purchase
    title = _("Purchases")
    table_class = PurchaseTable
    filterset_class = PurchaseFilter
    template_name = "purchases/purchase_list.html"
    export_name = "purchases"
    export_permission = MONEY_REPORTS
    csv_report = PURCHASES_REPORT
    create_url = "purchases:create"
    create_permission = "purchases.add_purchase"

    def get_queryset(self):
        return Purchase.objects.select_related("buyer", "subscription", "pricing_model")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The money of the listed purchases, from the journal: their charges and renewal
        # charges (gross), what was given back (refunds), and net, to date. Finance's only.
        # Summed only when the rows were counted (at most LIST_COUNT_LIMIT): a sum over a
        # million rows on every page view is the revenue report's job, not the list's.
        table = context["table"]
        context["sees_money"] = self.request.user.has_perm(MONEY_REPORTS)
        context["totals"] = (
            journal_selectors.money_of_entries(
                JournalEntry.objects.filter(
                    purchase__in=self.object_list.order_by().values("pk"),
                    kind__in=REVENUE_KINDS,
                )
            )
            if context["sees_money"] and getattr(table.paginator, "count_is_exact", True)
            else None
        )
        return context


class PurchaseSessionListView(ListPageView):
    permission_required = "purchases.view_purchasesession"
    model = PurchaseSession
    title = _("Purchase sessions")
    table_class = PurchaseSessionTable
    filterset_class = PurchaseSessionFilter
    export_name = "purchase-sessions"

    def get_queryset(self):
        return PurchaseSession.objects.select_related("buyer", "subscription")


class PurchasePageMixin(PermissionRequiredMixin):
    """The purchase named by the URL's code, and breadcrumbs back to the list."""

    def get_purchase(self):
        if not hasattr(self, "_purchase"):
            self._purchase = get_object_or_404(
                Purchase.objects.select_related(
                    "buyer", "subscription", "pricing_model", "access", "session", "created_by"
                ),
                code=self.kwargs["code"],
            )
        return self._purchase

    def breadcrumbs(self, *trail):
        return [(_("Purchases"), reverse("purchases:list")), *trail]


class PurchaseDetailView(PurchasePageMixin, DetailView):
    permission_required = "purchases.view_purchase"
    template_name = "purchases/purchase_detail.html"
    context_object_name = "purchase"

    def get_object(self, queryset=None):
        return self.get_purchase()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        purchase = self.object
        user = self.request.user
        sees_money = user.has_perm(MONEY_REPORTS)
        entries = purchase.journal_entries.filter(kind__in=REVENUE_KINDS)
        context.update(
            title=gettext("Purchase {code}").format(code=purchase.code),
            breadcrumbs=self.breadcrumbs((purchase.code, None)),
            view=product_view(purchase),
            refunds=purchase.refunds.select_related("created_by"),
            contract=RecurringContract.objects.filter(purchase=purchase).first(),
            renewal_charges=ContractTransaction.objects.filter(
                contract__purchase=purchase
            ).order_by("transaction_date", "pk"),
            cancellations=purchase.cancellations.select_related(
                "created_by", "refund", "undone_by"
            ),
            # Refund amounts and money totals are finance's (core.roles.MONEY_REPORTS).
            sees_money=sees_money,
            refunded=purchase.refunded_amount if sees_money else None,
            money=journal_selectors.money_of_entries(entries) if sees_money else None,
            charged=entries.filter(kind=Kind.SALE).exists(),
            can_cancel=user.has_perm("purchases.cancel_purchase")
            and purchase.is_recurring
            and purchase.status in Purchase.LIVE_STATUSES,
            can_refund=user.has_perm("purchases.refund_purchase")
            and purchase.status in Purchase.REFUNDABLE_STATUSES,
            can_check=user.has_perm("purchases.change_purchase")
            and purchase.status == Purchase.Status.PENDING,
        )
        return context


class PurchaseFormView(PurchasePageMixin, ServiceFormView):
    """A form about the purchase the URL names (or a new one); the button says what it does."""

    template_name = "purchases/purchase_form.html"
    cancel_label = _("Back")

    @property
    def submit_label(self):
        return self.title

    def load(self):
        if "code" in self.kwargs:
            self.get_purchase()

    def get_breadcrumbs(self):
        if "code" not in self.kwargs:
            return self.breadcrumbs((self.title, None))
        code = self.get_purchase().code
        return self.breadcrumbs(
            (code, reverse("purchases:detail", kwargs={"code": code})), (self.title, None)
        )

    def get_cancel_url(self):
        if "code" not in self.kwargs:
            return reverse("purchases:list")
        return reverse("purchases:detail", kwargs={"code": self.get_purchase().code})

    def get_success_url(self):
        return reverse("purchases:detail", kwargs={"code": self.get_purchase().code})

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if "code" in self.kwargs:
            context["purchase"] = self.get_purchase()
        return context


class NewPurchaseView(PurchaseFormView):
    permission_required = "purchases.add_purchase"
    form_class = NewPurchaseForm
    title = _("New purchase for a buyer")

    def get_initial(self):
        return {
            key: self.request.GET[key]
            for key in ("buyer", "subscription")
            if key in self.request.GET
        }

    def post(self, request, *args, **kwargs):
        if "show_price" not in request.POST:
            return super().post(request, *args, **kwargs)
        # "Show the price": the quote the purchase would charge, and the form again to buy.
        form = self.get_form()
        if not form.is_valid():
            return self.form_invalid(form)
        data = form.cleaned_data
        try:
            quote = quote_purchase(
                subscription=data["subscription"],
                pricing_model=data["pricing_model"],
                payment_type=data["payment_type"],
                coupon_code=data["coupon_code"],
                buyer=data.get("buyer"),
            )
        except DomainError as refusal:
            show_on_form(form, refusal)
            return self.form_invalid(form)
        return self.render_to_response(self.get_context_data(form=form, quote=quote))

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs, show_price_button=True)

    def perform(self, data):
        return create_purchase(
            buyer=data["buyer"],
            subscription=data["subscription"],
            pricing_model=data["pricing_model"],
            payment_type=data["payment_type"],
            staff_user=self.request.user,
            coupon_code=data["coupon_code"],
            instrument=data["instrument"],
            return_url=data["return_url"],
            cancel_url=data["cancel_url"],
        )

    def announce(self, cleaned_data):
        purchase = self.result
        if purchase.status == Purchase.Status.COMPLETED:
            messages.success(
                self.request, gettext("Purchase {code} completed.").format(code=purchase.code)
            )
        elif purchase.status == Purchase.Status.PENDING:
            messages.info(
                self.request,
                gettext("Purchase {code} waits for the buyer to pay on the payment page.").format(
                    code=purchase.code
                ),
            )
        else:
            messages.error(
                self.request,
                gettext("The payment failed: {reason}.").format(
                    reason=purchase.response_message or gettext("declined")
                ),
            )

    def get_success_url(self):
        return reverse("purchases:detail", kwargs={"code": self.result.code})


class CancelPurchaseView(PurchaseFormView):
    permission_required = "purchases.cancel_purchase"
    form_class = CancelPurchaseForm
    title = _("Cancel")
    success_message = _("Purchase {result.code} cancelled.")

    def perform(self, data):
        purchase = self.get_purchase()
        cancel_purchase(
            purchase=purchase,
            mode=data["mode"],
            refund=data["refund"],
            staff_user=self.request.user,
        )
        return purchase


class RefundPurchaseView(PurchaseFormView):
    permission_required = "purchases.refund_purchase"
    form_class = RefundPurchaseForm
    title = _("Refund")

    def get_initial(self):
        purchase = self.get_purchase()
        left = purchase.amount - sum((r.amount for r in purchase.refunds.all()), 0)
        return {"amount": quantize(left, purchase.currency)}

    def perform(self, data):
        return refund_purchase(
            purchase=self.get_purchase(),
            amount=data["amount"],
            reason=data["reason"],
            staff_user=self.request.user,
        )

    def get_success_message(self, cleaned_data):
        refund = self.result
        return gettext("Refunded {amount} {currency}.").format(
            amount=f"{quantize(refund.amount, refund.currency):f}", currency=refund.currency
        )


class CheckPaymentView(PurchasePageMixin, DetailView):
    """POST: ask the payment page's gateway whether a pending purchase was paid."""

    permission_required = "purchases.change_purchase"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        purchase = confirm_purchase(purchase=self.get_purchase())
        messages.info(
            request,
            gettext("Purchase {code} is {status}.").format(
                code=purchase.code, status=purchase.get_status_display().lower()
            ),
        )
        return redirect("purchases:detail", code=purchase.code)


@login_not_required
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request, pnref):
    """The sandbox provider's payment page a redirect gateway sends the buyer to: pay or cancel.
    Public, like a provider's page; answers 404 unless its sandbox gateway is enabled."""
    charge = get_object_or_404(SandboxCharge, pnref=pnref, kind=SandboxCharge.Kind.CHARGE)
    gateway = get_gateway(charge.gateway)
    if gateway is None:
        raise Http404("This payment method is not enabled.")
    if request.method == "POST":
        # The return and cancel URLs were checked by the purchase service when the payment began.
        return HttpResponseRedirect(pay_on_sandbox_page(charge, paid="pay" in request.POST))
    return render(
        request, "purchases/sandbox_checkout.html", {"charge": charge, "gateway": gateway}
    )


# --- Renewals: recurring contracts ----------------------------------------------------------


class ContractListView(ListPageView):
    """Recurring contracts, with the renewals panel: due today, past due, failed in the last
    24 hours and the revenue expected over the next 30 days per currency."""

    permission_required = "purchases.view_recurringcontract"
    model = RecurringContract
    title = _("Renewals")
    table_class = ContractTable
    filterset_class = ContractFilter
    template_name = "purchases/contract_list.html"
    export_name = "contracts"
    csv_report = CONTRACTS_REPORT

    def get_queryset(self):
        return RecurringContract.objects.select_related("buyer", "subscription")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The revenue expected in the next 30 days is a money total: finance's only.
        context["panel"] = renewals_panel(with_forecast=self.request.user.has_perm(MONEY_REPORTS))
        return context


def renewals_panel(now=None, *, with_forecast=True) -> dict:
    """Due today, past due, failed in 24 hours; with `with_forecast`, the amounts expected in
    the next 30 days per currency (None without)."""
    now = now or timezone.now()
    today_end = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    live = RecurringContract.objects.filter(status__in=RecurringContract.LIVE_STATUSES)
    return {
        "due_today": live.filter(
            status=RecurringContract.Status.ACTIVE, next_bill_date__lte=today_end
        ).count(),
        "past_due": live.filter(status=RecurringContract.Status.PAST_DUE).count(),
        "failed_24h": ContractTransaction.objects.filter(
            status=ContractTransaction.Status.DECLINED,
            transaction_date__gte=now - timedelta(hours=24),
        ).count(),
        "expected": live.filter(
            cancel_at_period_end=False, next_bill_date__lte=now + timedelta(days=30)
        )
        .values("currency")
        .annotate(total=Sum("amount"), count=Count("pk"))
        .order_by("currency")
        if with_forecast
        else None,
    }


class ContractPageMixin(PermissionRequiredMixin):
    def get_contract(self):
        if not hasattr(self, "_contract"):
            self._contract = get_object_or_404(
                RecurringContract.objects.select_related(
                    "buyer", "subscription", "pricing_model", "access", "purchase"
                ),
                code=self.kwargs["code"],
            )
        return self._contract

    def detail_url(self):
        return reverse("contracts:detail", kwargs={"code": self.get_contract().code})


class ContractDetailView(ContractPageMixin, DetailView):
    permission_required = "purchases.view_recurringcontract"
    template_name = "purchases/contract_detail.html"
    context_object_name = "contract"

    def get_object(self, queryset=None):
        return self.get_contract()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        contract, user = self.object, self.request.user
        live = contract.status in RecurringContract.LIVE_STATUSES
        can_change = user.has_perm("purchases.change_recurringcontract") and live
        context.update(
            title=gettext("Contract {code}").format(code=contract.code),
            breadcrumbs=[(_("Renewals"), reverse("contracts:list")), (contract.code, None)],
            transactions=contract.transactions.order_by("-transaction_date", "-pk"),
            can_stop=can_change and not contract.cancel_at_period_end,
            can_reactivate=can_change
            and contract.cancel_at_period_end
            and contract.next_bill_date > timezone.now(),
            can_end=user.has_perm("purchases.change_recurringcontract")
            and contract.status in RecurringContract.OPEN_STATUSES
            and user.has_perm("purchases.cancel_purchase"),
            can_retry=user.has_perm("purchases.retry_contract")
            and contract.status == RecurringContract.Status.PAST_DUE,
            can_change_card=user.has_perm("purchases.change_recurringcontract")
            and contract.status in RecurringContract.OPEN_STATUSES,
        )
        # Imported here: pause_pages builds on this module's ContractActionView.
        from .pause_pages import pause_context

        context.update(pause_context(contract, user))
        history, scheduled = plan_changes.plan_changes_of(contract)
        context.update(
            plan_changes=history,
            scheduled_plan_change=scheduled,
            can_change_plan=can_change and not contract.cancel_at_period_end and not scheduled,
            can_cancel_plan_change=can_change and scheduled is not None,
        )
        return context


class ContractActionView(ContractPageMixin, ServiceFormView):
    """A confirmation page for one action on a contract; the service decides, a refusal shows."""

    template_name = "purchases/purchase_form.html"
    form_class = ConfirmForm
    cancel_label = _("Back")

    @property
    def submit_label(self):
        return self.title

    def load(self):
        self.get_contract()

    def get_breadcrumbs(self):
        return [
            (_("Renewals"), reverse("contracts:list")),
            (self.get_contract().code, self.detail_url()),
            (self.title, None),
        ]

    def get_cancel_url(self):
        return self.detail_url()

    def get_success_url(self):
        return self.detail_url()


class StopContractView(ContractActionView):
    permission_required = "purchases.change_recurringcontract"
    title = _("Stop renewing at the period's end")
    success_message = _("The contract stops at the end of its period; the access lasts until then.")

    def perform(self, data):
        return cancel_purchase(
            purchase=self.get_contract().purchase, mode="period_end", staff_user=self.request.user
        )


class ReactivateContractView(ContractActionView):
    permission_required = "purchases.change_recurringcontract"
    title = _("Keep renewing")
    success_message = _("The stop is taken back: the contract renews on its next bill date.")

    def perform(self, data):
        return reactivate_purchase(
            purchase=self.get_contract().purchase, staff_user=self.request.user
        )


class EndContractView(ContractActionView):
    permission_required = ("purchases.change_recurringcontract", "purchases.cancel_purchase")
    form_class = EndContractForm
    title = _("End now")
    success_message = _("The contract ended now.")

    def perform(self, data):
        return cancel_purchase(
            purchase=self.get_contract().purchase,
            mode="now",
            refund=data["refund"],
            staff_user=self.request.user,
        )


class RetryContractView(ContractActionView):
    permission_required = "purchases.retry_contract"
    title = _("Retry the charge now")

    def perform(self, data):
        return renewals.retry_contract_now(contract=self.get_contract())

    def get_success_message(self, cleaned_data):
        if self.result.status != RecurringContract.Status.ACTIVE:
            return "The charge was declined again; the next retry is scheduled."
        return "Charged again."


class ChangeCardView(ContractActionView):
    permission_required = "purchases.change_recurringcontract"
    form_class = ChangeCardForm
    title = _("Change the card")
    success_message = _("The contract will be charged to the new card.")

    def perform(self, data):
        return change_contract_card(contract=self.get_contract(), instrument=data["instrument"])


class ExplainView(PermissionRequiredMixin, TemplateView):
    """ "Why can't this buyer buy / watch?": every rule with its answer, for the form's question.
    A GET form, so an answer is a link a colleague can be sent."""

    permission_required = "buyers.view_buyer"
    template_name = "purchases/explain.html"

    def get_context_data(self, **kwargs):
        query = self.request.GET
        asked = any(query.get(name) for name in ("buyer", "subscription"))
        form = ExplainForm(query if asked else None, initial=query.dict())
        explanation = None
        if asked and form.is_valid():
            data = form.cleaned_data
            try:
                buyer = find_buyer(data["buyer"])
            except DomainError as refusal:
                show_on_form(form, refusal)
            else:
                explanation = explain(
                    buyer=buyer,
                    subscription=data["subscription"],
                    pricing_model=data["pricing_model"],
                    payment_type=data["payment_type"] or WALLET,
                    device_type=data["device_type"].strip(),
                    coupon_code=data["coupon_code"].strip(),
                    device_id=data["device_id"].strip(),
                )
        return super().get_context_data(
            title=_("Why can't this buyer buy or watch?"),
            breadcrumbs=[(_("Why can't they buy or watch?"), None)],
            form=form,
            explanation=explanation,
            **kwargs,
        )


class BuyerTimelineView(PermissionRequiredMixin, TemplateView):
    """A buyer's whole story on one page, newest first: filter by kind, page on by key."""

    permission_required = "buyers.view_buyer"
    template_name = "purchases/buyer_timeline.html"

    def get_context_data(self, **kwargs):
        buyer = get_object_or_404(Buyer, code=self.kwargs["code"])
        user, query = self.request.user, self.request.GET
        wanted = [name for name in query.getlist("kind") if name in timeline.KINDS_BY_NAME]
        try:
            page = timeline.timeline_page(
                buyer=buyer, user=user, wanted=wanted, after=query.get("after", "")
            )
            bad_key = False
        except timeline.BadKey:
            page = timeline.timeline_page(buyer=buyer, user=user, wanted=wanted)
            bad_key = True
        next_query = query.copy()
        next_query["after"] = page.next_key or ""
        return super().get_context_data(
            title=gettext("Timeline of {buyer}").format(buyer=buyer),
            breadcrumbs=[
                (_("Buyers"), reverse("buyers:list")),
                (buyer.code, reverse("buyers:detail", args=[buyer.code])),
                (_("Timeline"), None),
            ],
            buyer=buyer,
            page=page,
            bad_key=bad_key,
            all_kinds=timeline.kinds_for(user),
            wanted=wanted,
            first_page=bool(query.get("after")),
            next_query=next_query.urlencode() if page.next_key else "",
            note_form=BuyerNoteForm() if user.has_perm("buyers.add_buyernote") else None,
            **kwargs,
        )


class BuyerNoteCreateView(ServiceFormView):
    """Staff write a note on the buyer's timeline."""

    permission_required = "buyers.add_buyernote"
    form_class = BuyerNoteForm
    title = _("Add a note")
    submit_label = _("Add the note")
    success_message = _("Note added.")

    def load(self):
        self.buyer = get_object_or_404(Buyer, code=self.kwargs["code"])

    def perform(self, data):
        return add_buyer_note(buyer=self.buyer, text=data["text"], written_by=self.request.user)

    def get_cancel_url(self):
        return reverse("purchases:timeline", args=[self.buyer.code])

    get_success_url = get_cancel_url
