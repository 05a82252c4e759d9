"""Staff pages of the bulk actions (buyers/bulk.py): the choice on the accesses and buyers lists,
the confirmation with the count, the progress page of an operation, and its undo.

The lists post their ticked rows (or "all matching the filter", the filter riding in the query
string) to a confirmation page; confirming recounts the rows and starts the operation only when
the count is still the one shown, so the count staff confirmed is the count changed.
"""

import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views import View
from django.views.generic import DetailView

from core.listing import ListPageView, capped_count

from . import bulk, errors
from .errors import BuyerError
from .filters import BulkOperationFilter
from .models import Access, BulkOperation
from .tables import BulkOperationTable

Action = BulkOperation.Action
PUBLIC_CODE = re.compile(r"[A-Za-z0-9]{1,32}")
# The permission each action needs, as its single counterpart does.
ACTION_PERMISSIONS = {
    Action.EXTEND: "buyers.change_access",
    Action.REVOKE: "buyers.revoke_access",
    Action.RESEND: "buyers.resend_email",
}
# The query-string keys that page or sort a list rather than filter it.
NOT_FILTERS = ("page", "after", "before", "sort", "export", "per_page", "excel")
FAILURES_SHOWN = 200


def bulk_actions_for(user) -> list[tuple[str, str]]:
    """The bulk actions this user may run: (value, label)."""
    return [
        (action.value, action.label)
        for action, permission in ACTION_PERMISSIONS.items()
        if user.has_perm(permission)
    ]


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(label=gettext_lazy("Action"), choices=Action.choices)
    days = forms.IntegerField(label=gettext_lazy("Days"), required=False)
    scope = forms.ChoiceField(
        choices=[("selected", "selected"), ("all", "all")], initial="selected"
    )
    # Set by the confirmation page: the count staff were shown.
    expected = forms.IntegerField(required=False, min_value=0)

    def clean_action(self):
        action = self.cleaned_data["action"]
        if action not in ACTION_PERMISSIONS:
            raise forms.ValidationError(errors.InvalidBulkAction.message)
        return action

    def clean(self):
        data = super().clean()
        if data.get("action") == Action.EXTEND:
            try:
                bulk.check_days(data.get("days"))
            except BuyerError as refusal:
                self.add_error("days", refusal.message)
        return data


def filter_description(filterset) -> str:
    """The list's filter as staff read it: "Status: Active · Subscription: Gold"."""
    if not filterset.is_bound or not filterset.form.is_valid():
        return ""
    parts = []
    for name, field in filterset.form.fields.items():
        value = filterset.form.cleaned_data.get(name)
        if value in (None, "", [], ()):
            continue
        if isinstance(value, slice):
            if value.start is None and value.stop is None:
                continue
            value = f"{value.start or '…'} – {value.stop or '…'}"
        elif getattr(field, "choices", None) and not hasattr(value, "pk"):
            value = dict(field.choices).get(value, value)
        parts.append(f"{field.label}: {value}")
    return " · ".join(parts)


class BulkActionView(PermissionRequiredMixin, View):
    """POST from a list: show the confirmation; POST with `confirm`: start the operation."""

    list_view_class = None  # the ListPageView whose filter chooses "all matching"
    source_list = ""
    code_field = "code"

    def has_permission(self):
        return super().has_permission() and bool(bulk_actions_for(self.request.user))

    def filter_query(self) -> str:
        query = self.request.GET.copy()
        for key in NOT_FILTERS:
            query.pop(key, None)
        return query.urlencode()

    def list_url(self) -> str:
        query = self.filter_query()
        return reverse(f"{self.source_list}:list") + (f"?{query}" if query else "")

    def refuse(self, message):
        """The refusal on a page of its own (the list's filter and ticks stay where they were)."""
        context = {
            "title": gettext("Nothing was changed"),
            "breadcrumbs": [
                (self.list_view_class.title, self.list_url()),
                (gettext("Bulk action"), None),
            ],
            "why": message,
            "list_url": self.list_url(),
        }
        return render(self.request, "buyers/bulkoperation_refused.html", context)

    def filterset(self):
        view = self.list_view_class()
        view.setup(self.request, *self.args, **self.kwargs)
        return view.get_filterset(view.get_filterset_class())

    def chosen_rows(self, scope) -> tuple[QuerySet, str]:
        """The list's rows chosen: ticked (by code) or all matching the filter."""
        if scope == "all":
            filterset = self.filterset()
            if filterset.is_bound and not filterset.is_valid():
                raise errors.NothingSelected(gettext("the filter has errors: fix it first."))
            return filterset.qs, filter_description(filterset)
        codes = [
            code for code in self.request.POST.getlist("selected") if PUBLIC_CODE.fullmatch(code)
        ]
        if len(codes) > settings.BULK_ACTION_LIMIT:
            bulk.check_selection(len(codes))
        model = self.list_view_class.model
        return model.objects.filter(code__in=codes), ""

    def accesses_of(self, rows: QuerySet) -> QuerySet:
        return rows

    def post(self, request, *args, **kwargs):
        form = BulkActionForm(request.POST)
        if not form.is_valid():
            problems = [message for field in form.errors.values() for message in field]
            return self.refuse(" ".join(problems))
        data = form.cleaned_data
        action = data["action"]
        if not request.user.has_perm(ACTION_PERMISSIONS[action]):
            raise PermissionDenied(gettext("You may not do this action."))
        try:
            rows, description = self.chosen_rows(data["scope"])
            accesses = self.accesses_of(rows)
            count = capped_count(accesses, settings.BULK_ACTION_LIMIT)
            bulk.check_selection(count)
        except BuyerError as refusal:
            return self.refuse(refusal.message)
        if "confirm" not in request.POST or data["expected"] is None:
            return self.confirmation(form, count, description, rows)
        if data["expected"] != count:
            messages.warning(
                request,
                gettext(
                    "The chosen rows changed since you confirmed (%(then)s then, %(now)s now): "
                    "nothing was changed; confirm again."
                )
                % {"then": data["expected"], "now": count},
            )
            return self.confirmation(form, count, description, rows)
        try:
            operation = bulk.start_operation(
                action=action,
                access_ids=list(accesses.values_list("pk", flat=True)),
                days=data.get("days"),
                started_by=request.user,
                source_list=self.source_list,
                filter_text=description
                or ngettext("%(count)d row ticked", "%(count)d rows ticked", rows.count())
                % {"count": rows.count()},
                filter_query=self.filter_query() if data["scope"] == "all" else "",
            )
        except BuyerError as refusal:
            return self.refuse(refusal.message)
        messages.success(request, gettext("Started: this page shows how far it has got."))
        return redirect("accesses:bulk_detail", code=operation.code)

    def confirmation(self, form, count, description, rows):
        data = form.cleaned_data
        context = {
            "title": gettext("Confirm: %(action)s") % {"action": Action(data["action"]).label},
            "breadcrumbs": [
                (self.list_view_class.title, self.list_url()),
                (gettext("Bulk action"), None),
            ],
            "action": Action(data["action"]),
            "days": data.get("days"),
            "scope": data["scope"],
            "count": count,
            "rows_count": rows.count() if self.source_list == "buyers" else None,
            "description": description,
            "selected": self.request.POST.getlist("selected") if data["scope"] != "all" else [],
            "list_url": self.list_url(),
            "post_url": self.request.get_full_path(),
            "not_undoable": data["action"] == Action.RESEND,
        }
        return render(self.request, "buyers/bulkoperation_confirm.html", context)


class AccessBulkActionView(BulkActionView):
    permission_required = "buyers.view_access"
    source_list = "accesses"

    @property
    def list_view_class(self):
        from .views import AccessListView

        return AccessListView


class BuyerBulkActionView(BulkActionView):
    """On buyers, an action applies to each chosen buyer's accesses that are not revoked."""

    permission_required = ("buyers.view_buyer", "buyers.view_access")
    source_list = "buyers"

    @property
    def list_view_class(self):
        from .views import BuyerListView

        return BuyerListView

    def accesses_of(self, rows):
        # Only the keys: the list's annotations are for showing rows.
        buyers = rows.order_by().values("pk")
        return Access.objects.filter(buyer__in=buyers, revoked_at__isnull=True)


class BulkOperationListView(ListPageView):
    """The bulk actions and imports run lately, to find one again (and undo it within a day).
    Previews of imports never confirmed are left out."""

    permission_required = "buyers.view_access"
    model = BulkOperation
    title = gettext_lazy("Bulk operations")
    table_class = BulkOperationTable
    filterset_class = BulkOperationFilter

    def get_queryset(self):
        return BulkOperation.objects.exclude(state=BulkOperation.State.PREVIEW).select_related(
            "created_by"
        )


# --- An operation's page ------------------------------------------------------------------------


def operation_permission(operation: BulkOperation) -> str:
    return "buyers.import_buyers" if operation.action == Action.IMPORT else "buyers.view_access"


class BulkOperationDetailView(PermissionRequiredMixin, DetailView):
    """How far an operation has got (refreshing itself until it is done), what failed and why,
    and "Undo" while it may be undone."""

    model = BulkOperation
    slug_field = slug_url_kwarg = "code"
    template_name = "buyers/bulkoperation_detail.html"
    context_object_name = "operation"
    refresh_seconds = 2

    def has_permission(self):
        user = self.request.user
        if not (user.has_perm("buyers.view_access") or user.has_perm("buyers.import_buyers")):
            return False  # refused before the code is looked up: no probing for codes
        self.object = get_object_or_404(
            BulkOperation.objects.select_related("created_by", "undoes"),
            code=self.kwargs["code"],
        )
        return self.request.user.has_perm(operation_permission(self.object))

    def get_object(self, queryset=None):
        return self.object

    def crumb(self) -> str:
        return gettext("Bulk operation %(code)s") % {"code": self.object.code}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        operation, user = self.object, self.request.user
        refusal = bulk.undo_refusal(operation)
        permission = ACTION_PERMISSIONS.get(operation.action)
        undone_by = BulkOperation.objects.filter(undoes=operation).first()
        failures = operation.items.filter(done=False).select_related("access")
        if operation.source_list in ("accesses", "buyers"):
            back = reverse(f"{operation.source_list}:list")
            crumb = gettext("Buyers")
            if operation.source_list == "accesses":
                crumb = gettext("Accesses")
        else:
            back, crumb = reverse("accesses:list"), gettext("Accesses")
        context.update(
            title=str(operation.get_action_display()),
            breadcrumbs=[
                (crumb, back),
                (gettext("Bulk operations"), reverse("accesses:bulk_list")),
                (self.crumb(), None),
            ],
            refresh_seconds=None if operation.is_finished else self.refresh_seconds,
            failures=failures[:FAILURES_SHOWN],
            more_failures=operation.failed_count > FAILURES_SHOWN,
            undone_by=undone_by,
            may_undo=refusal is None and permission is not None and user.has_perm(permission),
            undo_refusal=refusal.message if refusal is not None and operation.is_finished else "",
            undo_deadline=bulk.undo_deadline(operation),
            back_url=f"{back}?{operation.filter_query}" if operation.filter_query else back,
        )
        return context


class BulkUndoView(PermissionRequiredMixin, View):
    """POST: undo every change of an operation (refused, with the reason, when it cannot be)."""

    def has_permission(self):
        if not bulk_actions_for(self.request.user):
            return False
        self.operation = get_object_or_404(BulkOperation, code=self.kwargs["code"])
        permission = ACTION_PERMISSIONS.get(self.operation.action)
        # A re-send is refused with its reason below, by those who may re-send.
        return permission is not None and self.request.user.has_perm(permission)

    def post(self, request, *args, **kwargs):
        try:
            undo = bulk.start_undo(operation=self.operation, started_by=request.user)
        except BuyerError as refusal:
            messages.error(request, gettext("Not undone: %(why)s") % {"why": refusal.message})
            return redirect("accesses:bulk_detail", code=self.operation.code)
        messages.success(request, gettext("Undoing: this page shows how far it has got."))
        return redirect("accesses:bulk_detail", code=undo.code)
