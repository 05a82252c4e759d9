"""Staff pages of a contract's plan change (issue 19): choose the pricing model and when, see the
preview (credit, charge, charged now, next bill), confirm it; take back a scheduled change. The
rules and the money are the service's (purchases/services/plan_changes.py)."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, show_on_form
from subscriptions.models import PricingModel

from .contract_changes import ContractChange
from .services import plan_changes
from .views import ContractActionView


class PlanChangeForm(forms.Form):
    pricing_model = forms.ModelChoiceField(
        label=_("New pricing model"), queryset=PricingModel.objects.none(), to_field_name="code"
    )
    timing = forms.ChoiceField(
        label=_("When"),
        choices=ContractChange.Timing.choices,
        initial=ContractChange.Timing.NOW,
        widget=forms.RadioSelect,
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, contract=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Every pricing model the subscription offers: the service names why one is refused.
        self.fields["pricing_model"].queryset = PricingModel.objects.filter(
            offers__subscription_id=contract.subscription_id
        ).order_by("title", "pk")
        self.fields["pricing_model"].label_from_instance = self.label_of

    @staticmethod
    def label_of(pricing_model) -> str:
        return f"{pricing_model.title} · {pricing_model.price} {pricing_model.currency}"


class ChangePlanView(ContractActionView):
    """The first submit previews; "Confirm the change" confirms the previewed amounts."""

    permission_required = "purchases.change_recurringcontract"
    template_name = "purchases/plan_change_form.html"
    form_class = PlanChangeForm
    title = _("Change plan")
    submit_label = _("Preview the change")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "contract": self.get_contract()}

    def get_context_data(self, **kwargs):
        return super().get_context_data(contract=self.get_contract(), **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        if self.request.POST.get("confirm"):
            return super().form_valid(form)
        try:
            preview = plan_changes.preview_plan_change(
                contract=self.get_contract(),
                pricing_model=data["pricing_model"],
                timing=data["timing"],
            )
        except DomainError as refusal:
            show_on_form(form, refusal)
            return self.form_invalid(form)
        values = form.data.copy()
        values["token"] = preview.token
        form = self.get_form_class()(values, contract=self.get_contract())
        form.is_valid()
        return self.render_to_response(self.get_context_data(form=form, preview=preview))

    def form_invalid(self, form):
        # The token is hidden: what is wrong with it is said above the form.
        for message in form.errors.pop("token", []):
            form.add_error(None, message)
        return super().form_invalid(form)

    def perform(self, data):
        return plan_changes.change_plan(
            contract=self.get_contract(),
            pricing_model=data["pricing_model"],
            token=data["token"],
            timing=data["timing"],
            staff_user=self.request.user,
        )

    def get_success_message(self, cleaned_data):
        change = self.result
        if change.status == ContractChange.Status.SCHEDULED:
            return gettext("The change to %(plan)s is scheduled for the period's end.") % {
                "plan": change.to_pricing_model.title
            }
        return gettext("The contract is on %(plan)s now.") % {"plan": change.to_pricing_model.title}


class CancelPlanChangeView(ContractActionView):
    permission_required = "purchases.change_recurringcontract"
    title = _("Cancel the scheduled plan change")
    success_message = _("The scheduled plan change is cancelled: the contract renews as it is.")

    def perform(self, data):
        return plan_changes.cancel_scheduled_plan_change(
            contract=self.get_contract(), staff_user=self.request.user
        )
