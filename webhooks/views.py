"""Admin pages for webhooks: the endpoints, adding one (its secret shown once), and each
endpoint's delivery log with its actions: enable/disable, send a test event, resend one event,
replay a time range. Only admins hold these permissions (superusers; no role is given them)."""

import django_filters
import django_tables2 as tables
from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.events import EVENT_TYPES
from core.form_pages import ServiceFormView
from core.forms import validate_date_in_range
from core.listing import DateTimeColumn, ListFilterSet, ListPageView, ListTable

from . import services
from .models import ALL_EVENTS, WebhookAttempt, WebhookDelivery, WebhookEndpoint

EVENT_CHOICES = [(ALL_EVENTS, _("Every event")), *((t, t) for t in EVENT_TYPES)]


class EndpointTable(ListTable):
    code = tables.Column(
        verbose_name=_("Code"), linkify=("webhooks:detail", {"code": tables.A("code")})
    )
    url = tables.Column(verbose_name=_("URL"))
    event_types = tables.Column(verbose_name=_("Events"), orderable=False)
    enabled = tables.BooleanColumn(verbose_name=_("Enabled"))
    failing_since = DateTimeColumn(verbose_name=_("Failing since"), format="Y-m-d H:i")
    created_at = DateTimeColumn(verbose_name=_("Created"), format="Y-m-d H:i")

    class Meta(ListTable.Meta):
        model = WebhookEndpoint
        fields = ()
        order_by = ("-created_at",)

    def render_event_types(self, value):
        return ", ".join(value)

    value_event_types = render_event_types


class EndpointFilter(ListFilterSet):
    search_fields = ("url", "code", "description")

    enabled = django_filters.BooleanFilter(label=_("Enabled"))

    class Meta:
        model = WebhookEndpoint
        fields = ("q", "enabled")


class EndpointListView(ListPageView):
    permission_required = "webhooks.view_webhookendpoint"
    model = WebhookEndpoint
    title = _("Webhooks")
    table_class = EndpointTable
    filterset_class = EndpointFilter
    create_url = "webhooks:create"
    create_permission = "webhooks.add_webhookendpoint"


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        help_text=_("HTTPS, on a public address. Redirects are not followed."),
    )
    event_types = forms.MultipleChoiceField(
        label=_("Events"), choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)


class ShowsSecretOnce:
    """A form page whose success shows the endpoint's signing secret, this once, uncached."""

    shown_once_title = ""

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.errors:
            return response
        context = self.get_context_data(form=form, endpoint=self.result)
        context["title"] = self.shown_once_title
        page = render(self.request, "webhooks/endpoint_created.html", context)
        page["Cache-Control"] = "no-store"
        return page

    def announce(self, cleaned_data):
        """The page that follows says it."""


class EndpointCreateView(ShowsSecretOnce, ServiceFormView):
    """Add an endpoint and show its signing secret once (pages never show it again)."""

    permission_required = "webhooks.add_webhookendpoint"
    form_class = EndpointForm
    title = _("New webhook endpoint")

    def perform(self, data):
        return services.create_endpoint(
            url=data["url"],
            event_types=data["event_types"],
            description=data["description"],
            created_by=self.request.user,
        )

    shown_once_title = _("Webhook endpoint added")

    def get_success_url(self):
        return reverse("webhooks:detail", args=[self.result.code])

    def get_breadcrumbs(self):
        return [(_("Webhooks"), reverse("webhooks:list")), (self.get_title(), None)]

    def get_cancel_url(self):
        return reverse("webhooks:list")


class AttemptTable(ListTable):
    attempted_at = DateTimeColumn(verbose_name=_("Attempted"), format="Y-m-d H:i:s")
    event = tables.Column(
        verbose_name=_("Event"), accessor="delivery__event__type", orderable=False
    )
    event_id = tables.Column(
        verbose_name=_("Event id"), accessor="delivery__event__uid", orderable=False
    )
    status_code = tables.Column(verbose_name=_("Status"))
    latency_ms = tables.Column(verbose_name=_("Latency (ms)"))
    response_excerpt = tables.Column(verbose_name=_("Response (first bytes)"), orderable=False)
    error = tables.Column(verbose_name=_("Error"), orderable=False)
    actions = tables.Column(verbose_name="", accessor="pk", orderable=False, empty_values=())

    class Meta(ListTable.Meta):
        model = WebhookAttempt
        fields = ()
        order_by = ("-attempted_at",)
        empty_text = _("No attempt yet.")

    def render_event_id(self, value):
        return f"evt_{value.hex}"

    def render_response_excerpt(self, value):
        return value[:200]

    def render_actions(self, record):
        return format_html(
            '<a class="btn btn-outline-secondary btn-sm" href="{}">Resend</a>',
            reverse("webhooks:resend", args=[record.endpoint.code, record.delivery.event.uid]),
        )

    def value_actions(self, record):
        return ""


class AttemptFilter(ListFilterSet):
    search_fields = ("=delivery__event__type",)

    succeeded = django_filters.BooleanFilter(label=_("Succeeded"))

    class Meta:
        model = WebhookAttempt
        fields = ("q", "succeeded")


class EndpointDetailView(ListPageView):
    """An endpoint and its delivery log: every attempt, newest first."""

    permission_required = "webhooks.view_webhookendpoint"
    model = WebhookAttempt
    table_class = AttemptTable
    filterset_class = AttemptFilter
    template_name = "webhooks/endpoint_detail.html"

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        self.endpoint = get_object_or_404(WebhookEndpoint, code=kwargs["code"])
        self.title = gettext("Webhook {url}").format(url=self.endpoint.url)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return WebhookAttempt.objects.filter(endpoint=self.endpoint).select_related(
            "delivery__event", "endpoint"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        deliveries = WebhookDelivery.objects.filter(endpoint=self.endpoint)
        context.update(
            endpoint=self.endpoint,
            pending=deliveries.filter(status=WebhookDelivery.Status.PENDING).count(),
            may_change=self.request.user.has_perm("webhooks.change_webhookendpoint"),
        )
        return context


class EndpointActionView(ServiceFormView):
    permission_required = "webhooks.change_webhookendpoint"
    form_class = forms.Form

    def load(self):
        self.endpoint = get_object_or_404(WebhookEndpoint, code=self.kwargs["code"])

    def get_title(self):
        return f"{self.title} {self.endpoint.url}"

    def get_breadcrumbs(self):
        return [
            (_("Webhooks"), reverse("webhooks:list")),
            (self.endpoint.url, reverse("webhooks:detail", args=[self.endpoint.code])),
            (self.title, None),
        ]

    def get_cancel_url(self):
        return reverse("webhooks:detail", args=[self.endpoint.code])

    get_success_url = get_cancel_url


class EndpointToggleView(EndpointActionView):
    def load(self):
        super().load()
        self.title = _("Disable") if self.endpoint.enabled else _("Enable")
        self.submit_label = self.title
        self.success_message = f"Endpoint {self.title.lower()}d."

    def perform(self, data):
        return services.set_endpoint_enabled(
            endpoint=self.endpoint, enabled=not self.endpoint.enabled
        )


class TestEventView(EndpointActionView):
    title = _("Send a test event to")
    submit_label = _("Send test event")
    success_message = _("Test event sent: its attempt appears in the log.")

    def perform(self, data):
        return services.send_test_event(endpoint=self.endpoint)


class ResendView(EndpointActionView):
    title = _("Resend event to")
    submit_label = _("Resend")
    success_message = _("The event is sent again now.")

    def load(self):
        super().load()
        self.delivery = get_object_or_404(
            WebhookDelivery, event__uid=self.kwargs["event"], endpoint=self.endpoint
        )

    def perform(self, data):
        return services.resend_delivery(delivery=self.delivery)


class RotateSecretForm(forms.Form):
    keep_previous_hours = forms.IntegerField(
        label=_("Keep signing with the old secret for (hours)"),
        min_value=0,
        initial=24,
        help_text=_(
            "Deliveries carry both signatures meanwhile, so receivers switch to the new "
            "secret without refusing one. 0 stops using the old secret now."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = settings.WEBHOOK_SECRET_OVERLAP_MAX_HOURS
        self.fields["keep_previous_hours"].max_value = limit
        self.fields["keep_previous_hours"].validators.append(MaxValueValidator(limit))
        self.fields["keep_previous_hours"].widget.attrs["max"] = limit


class RotateSecretView(ShowsSecretOnce, EndpointActionView):
    """A new signing secret, shown once on the page that follows."""

    title = _("New signing secret for")
    shown_once_title = _("New signing secret")
    form_class = RotateSecretForm
    submit_label = _("Make a new secret")

    def perform(self, data):
        return services.rotate_secret(
            endpoint=self.endpoint, keep_previous_hours=data["keep_previous_hours"]
        )


class ReplayForm(forms.Form):
    """Times in the shop's time zone, as YYYY-MM-DD HH:MM."""

    start = forms.DateTimeField(
        label=_("From"),
        help_text=_("YYYY-MM-DD HH:MM, the shop's time."),
        validators=[validate_date_in_range],
    )
    end = forms.DateTimeField(
        label=_("Until (not included)"),
        help_text=_("YYYY-MM-DD HH:MM."),
        validators=[validate_date_in_range],
    )


class ReplayView(EndpointActionView):
    title = _("Replay events to")
    form_class = ReplayForm
    submit_label = _("Replay")
    success_message = _("{result} events are sent again.")

    def perform(self, data):
        return services.replay_events(endpoint=self.endpoint, start=data["start"], end=data["end"])


urlpatterns = [
    path("", EndpointListView.as_view(), name="list"),
    path("new/", EndpointCreateView.as_view(), name="create"),
    path("<str:code>/", EndpointDetailView.as_view(), name="detail"),
    path("<str:code>/enable-or-disable/", EndpointToggleView.as_view(), name="toggle"),
    path("<str:code>/test/", TestEventView.as_view(), name="test"),
    path("<str:code>/replay/", ReplayView.as_view(), name="replay"),
    path("<str:code>/new-secret/", RotateSecretView.as_view(), name="rotate"),
    path("<str:code>/resend/<uuid:event>/", ResendView.as_view(), name="resend"),
]
