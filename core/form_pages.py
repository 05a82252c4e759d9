"""The one pattern of a staff page whose form goes to a service: `ServiceFormView`.

Every app's form pages (the catalog's, buyers', purchases') subclass it and say only what is
theirs: the form, the permission, the service call (`perform`), where to go next and what to say.
"""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView

from .errors import DomainError, show_on_form


class ServiceFormView(PermissionRequiredMixin, FormView):
    """A form whose valid input goes to one service call (`perform`).

    - The permission is checked before `load()` looks up what the URL names, so a user without
      it gets 403 whatever the URL names.
    - Any DomainError the service raises is shown beside the field it names (above the form when
      the form has no such field) and the form is shown again as typed; a service refuses before
      it writes (or rolls back), so nothing has changed. A service that checks every rule at once
      raises them together (core.errors.SeveralRefusals): each shows beside its field.
    - When the form itself refuses a field (its shape: a number, a URL), `check()` may still run
      the service's rules on the rest without writing, so one answer shows every problem.
    - On success, `announce()` tells the user (by default `success_message`, formatted with
      `result`, what `perform` returned) and the browser goes to `get_success_url()`.
    """

    template_name = "form_page.html"
    title = ""
    heading = ""
    submit_label = _("Save")
    cancel_label = _("Cancel")
    success_message = ""

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.load()
        return FormView.dispatch(self, request, *args, **kwargs)

    def load(self):
        """Look up what the URL names (404 when it does not exist); after the permission check."""

    def perform(self, data: dict):
        """Call the service with the form's cleaned data; return what it saved or did."""
        raise NotImplementedError

    def check(self, data: dict) -> None:
        """Run the service's rules on `data`, the fields the form accepted, without writing;
        raise what they refuse. By default nothing is checked before the form is right."""

    def form_valid(self, form):
        try:
            self.result = self.perform(form.cleaned_data)
        except DomainError as refusal:
            show_on_form(form, refusal)
            return super().form_invalid(form)
        self.announce(form.cleaned_data)
        return redirect(self.get_success_url())

    def form_invalid(self, form):
        """The form refused some field: add what the service's rules say of the others."""
        try:
            self.check(dict(form.cleaned_data))
        except DomainError as refusal:
            # A rule about a field the form refused reads a value that is not the one typed.
            for single in refusal.each():
                if single.field not in form.errors and single.field in form.fields:
                    show_on_form(form, single)
        return super().form_invalid(form)

    def announce(self, cleaned_data: dict) -> None:
        """Tell the user what was done, once it is done."""
        message = self.get_success_message(cleaned_data)
        if message:
            messages.success(self.request, message)

    def get_success_message(self, cleaned_data: dict) -> str:
        return self.success_message.format(result=self.result)

    def get_title(self) -> str:
        return self.title

    def get_heading(self) -> str:
        return self.heading or self.get_title()

    def get_breadcrumbs(self) -> list[tuple[str, str | None]]:
        return [(self.get_title(), None)]

    def get_cancel_url(self) -> str:
        raise NotImplementedError

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.get_title(),
            heading=self.get_heading(),
            breadcrumbs=self.get_breadcrumbs(),
            cancel_url=self.get_cancel_url(),
            cancel_label=self.cancel_label,
            submit_label=self.submit_label,
        )
        return context
