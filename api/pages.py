"""Staff pages for API keys: admins list, create (the key is shown once) and revoke them."""

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import FormView

from api.models import ApiKey, default_rate_limit
from core.listing import ACTIONS_HEADER, DateTimeColumn, ListFilterSet, ListPageView, ListTable

from .keys import ApiKeyNameRequired, create_api_key, revoke_api_key, update_api_key


class ApiKeyTable(ListTable):
    name = tables.Column(verbose_name=_("Name"))
    prefix = tables.Column(verbose_name=_("Key starts with"))
    scopes = tables.Column(verbose_name=_("Scopes"), orderable=False)
    rate_limit_per_minute = tables.Column(verbose_name=_("Requests a minute"), orderable=False)
    created_by = tables.Column(verbose_name=_("Created by"))
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d H:i")
    last_used_at = DateTimeColumn(verbose_name=_("Last used"), format="Y-m-d H:i")
    revoked_at = DateTimeColumn(verbose_name=_("Revoked"), format="Y-m-d H:i")
    actions = tables.Column(
        verbose_name=ACTIONS_HEADER, accessor="pk", orderable=False, empty_values=()
    )

    class Meta(ListTable.Meta):
        model = ApiKey
        fields = ()
        order_by = ("-created_at",)

    def render_prefix(self, value):
        return format_html("<code>{}…</code>", value)

    def value_prefix(self, value):
        return value

    def render_scopes(self, record):
        return record.get_scopes_display()

    value_scopes = render_scopes

    def render_rate_limit_per_minute(self, value):
        return f"{value:,}" if value else "no limit"

    def value_rate_limit_per_minute(self, value):
        return value

    def render_actions(self, record):
        if record.revoked_at is not None:
            return ""
        return format_html(
            '<a class="btn btn-outline-secondary btn-sm" href="{}">Edit</a> '
            '<a class="btn btn-outline-danger btn-sm" href="{}">Revoke</a>',
            reverse("api_keys:edit", args=[record.prefix]),
            reverse("api_keys:revoke", args=[record.prefix]),
        )


class ApiKeyFilter(ListFilterSet):
    search_fields = ("name", "prefix")

    active = django_filters.BooleanFilter(
        label=_("Active"), field_name="revoked_at", lookup_expr="isnull"
    )

    class Meta:
        model = ApiKey
        fields = ("q", "active")


class ApiKeyListView(ListPageView):
    permission_required = "api.view_apikey"
    model = ApiKey
    title = _("API keys")
    table_class = ApiKeyTable
    filterset_class = ApiKeyFilter
    create_url = "api_keys:create"
    create_permission = "api.add_apikey"

    def get_queryset(self):
        return ApiKey.objects.select_related("created_by")


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("Who uses it: “Storefront”, “Player”.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the key may do; a request outside its scopes is refused (403)."),
    )
    rate_limit_per_minute = forms.IntegerField(
        label=_("Requests a minute"),
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        initial=default_rate_limit,
        help_text=format_lazy(
            "{} {}",
            ApiKey._meta.get_field("rate_limit_per_minute").help_text,
            _("Empty: the shop's default."),
        ),
    )

    def clean_rate_limit_per_minute(self):
        value = self.cleaned_data["rate_limit_per_minute"]
        return default_rate_limit() if value is None else value


class StaffPageMixin(PermissionRequiredMixin):
    title = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            title=self.title,
            breadcrumbs=[(_("API keys"), reverse("api_keys:list")), (self.title, None)],
            cancel_url=reverse("api_keys:list"),
        )
        return context


class ApiKeyCreateView(StaffPageMixin, FormView):
    """Create a key and show it once: the page answers the key itself, it is never stored."""

    permission_required = "api.add_apikey"
    form_class = ApiKeyForm
    template_name = "api/apikey_form.html"
    title = _("New API key")

    def form_valid(self, form):
        try:
            created = create_api_key(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                created_by=self.request.user,
                rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
            )
        except ApiKeyNameRequired as error:
            form.add_error("name", str(error))
            return self.form_invalid(form)
        context = self.get_context_data(form=form, created=created)
        context["title"] = gettext("API key created")
        response = render(self.request, "api/apikey_created.html", context)
        response["Cache-Control"] = "no-store"
        return response


class ApiKeyUpdateView(StaffPageMixin, FormView):
    """Rename a key, change its scopes or its requests a minute; the key itself stays."""

    permission_required = "api.change_apikey"
    form_class = ApiKeyForm
    template_name = "api/apikey_edit.html"
    title = _("Edit API key")

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.api_key = get_object_or_404(ApiKey, prefix=kwargs["prefix"], revoked_at=None)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {
            "name": self.api_key.name,
            "scopes": self.api_key.scopes,
            "rate_limit_per_minute": self.api_key.rate_limit_per_minute,
        }

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "api_key": self.api_key}

    def form_valid(self, form):
        try:
            update_api_key(api_key=self.api_key, **form.cleaned_data)
        except ApiKeyNameRequired as error:
            form.add_error("name", str(error))
            return self.form_invalid(form)
        messages.success(
            self.request,
            gettext("API key “{name}” saved.").format(name=form.cleaned_data["name"]),
        )
        return redirect("api_keys:list")


class ApiKeyRevokeView(StaffPageMixin, FormView):
    permission_required = "api.change_apikey"
    form_class = forms.Form
    template_name = "api/apikey_confirm_revoke.html"
    title = _("Revoke API key")

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.api_key = get_object_or_404(ApiKey, prefix=kwargs["prefix"])
        if self.api_key.revoked_at is not None:
            messages.info(request, gettext("This API key is already revoked."))
            return redirect("api_keys:list")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "api_key": self.api_key}

    def form_valid(self, form):
        revoke_api_key(api_key=self.api_key, revoked_by=self.request.user)
        messages.success(
            self.request,
            gettext("API key “{name}” revoked: it stops working within a second.").format(
                name=self.api_key.name
            ),
        )
        return redirect("api_keys:list")


urlpatterns = [
    path("", ApiKeyListView.as_view(), name="list"),
    path("new/", ApiKeyCreateView.as_view(), name="create"),
    path("<str:prefix>/edit/", ApiKeyUpdateView.as_view(), name="edit"),
    path("<str:prefix>/revoke/", ApiKeyRevokeView.as_view(), name="revoke"),
]
