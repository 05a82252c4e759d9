"""The contract page's "Pause" and "Resume" (staff): a form that goes to the pause service, a
confirmation that resumes, and what the contract page shows of pauses."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import RecurringContract
from .services.pauses import NOW, PERIOD_END, pause_contract, resume_contract
from .views import ContractActionView

PERIODS, UNTIL, OPEN = "periods", "until", "open"


class PauseContractForm(forms.Form):
    start = forms.ChoiceField(
        label=_("When"),
        choices=[(NOW, _("Now")), (PERIOD_END, _("At the end of the current period"))],
        initial=NOW,
        widget=forms.RadioSelect,
    )
    length = forms.ChoiceField(
        label=_("How long"),
        choices=[
            (PERIODS, _("For a number of periods")),
            (UNTIL, _("Until a date")),
            (OPEN, _("Until resumed")),
        ],
        initial=PERIODS,
        widget=forms.RadioSelect,
    )
    periods = forms.IntegerField(label=_("Periods"), required=False, initial=1)
    until = forms.DateField(
        label=_("Until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The pause ends at 00:00 on this day, in the shop's time zone."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["length"].help_text = _(
            "A pause lasts at most %(days)s days; one until resumed resumes on its own then."
        ) % {"days": settings.CONTRACT_MAX_PAUSE_DAYS}

    def clean(self):
        data = super().clean()
        length = data.get("length")
        if length == PERIODS and data.get("periods") is None and "periods" not in self.errors:
            self.add_error("periods", _("Give the number of periods."))
        if length == UNTIL and data.get("until") is None and "until" not in self.errors:
            self.add_error("until", _("Give the date the pause ends on."))
        return data


class PauseContractView(ContractActionView):
    permission_required = "purchases.change_recurringcontract"
    form_class = PauseContractForm
    title = _("Pause")
    success_message = _("The contract is paused: it is not charged and its access is off.")

    def perform(self, data):
        length = data["length"]
        return pause_contract(
            contract=self.get_contract(),
            start=data["start"],
            periods=data["periods"] if length == PERIODS else None,
            until=data["until"] if length == UNTIL else None,
            by=self.request.user,
        )


class ResumeContractView(ContractActionView):
    permission_required = "purchases.change_recurringcontract"
    title = _("Resume")
    success_message = _("The contract runs again; its next bill date moved by the time paused.")

    def perform(self, data):
        return resume_contract(contract=self.get_contract(), by=self.request.user)


def pause_context(contract: RecurringContract, user) -> dict:
    """What the contract page shows of pauses: the buttons the user may use and the history."""
    may_change = user.has_perm("purchases.change_recurringcontract")
    paused = contract.status == RecurringContract.Status.PAUSED
    return {
        "can_pause": may_change
        and contract.status == RecurringContract.Status.ACTIVE
        and not contract.cancel_at_period_end,
        "can_resume": may_change and paused,
        "pauses": contract.pauses.select_related("created_by", "resumed_by")[:20],
    }
