"""Site-wide pages: the team list, the header search's results, the password change, and the
health check for load balancers."""

from urllib.parse import urlencode

import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import Group
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .health import healthz_response
from .languages import set_preferred_language, supported
from .listing import DateTimeColumn, ListFilterSet, ListPageView, ListTable
from .site_search import SHORTEST_PART, only_match, search_everything

User = get_user_model()


class TeamTable(ListTable):
    username = tables.Column(verbose_name=_("User name"))
    full_name = tables.Column(
        verbose_name=_("Name"), accessor="get_full_name", order_by=("first_name", "last_name")
    )
    email = tables.EmailColumn(verbose_name=_("E-mail"))
    roles = tables.Column(verbose_name=_("Roles"), accessor="pk", orderable=False, empty_values=())
    is_active = tables.BooleanColumn(verbose_name=_("Active"))
    is_superuser = tables.BooleanColumn(verbose_name=_("Admin"))
    last_login = DateTimeColumn(verbose_name=_("Last sign-in"), format="Y-m-d H:i")
    date_joined = DateTimeColumn(verbose_name=_("Joined"), format="Y-m-d")

    class Meta(ListTable.Meta):
        model = User
        fields = ()
        order_by = ("username",)

    def render_roles(self, record):
        return ", ".join(group.name for group in record.groups.all()) or "—"

    value_roles = render_roles


class TeamFilter(ListFilterSet):
    search_fields = ("username", "first_name", "last_name", "email")

    role = django_filters.ModelChoiceFilter(
        label=_("Role"), field_name="groups", queryset=Group.objects.order_by("name")
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))
    is_superuser = django_filters.BooleanFilter(label=_("Admin"))

    class Meta:
        model = User
        fields = ("q", "role", "is_active", "is_superuser")


class TeamListView(ListPageView):
    """The people who can sign in, with their roles: admins review who has access to what."""

    permission_required = "auth.view_user"
    model = User
    title = _("Team")
    table_class = TeamTable
    filterset_class = TeamFilter
    export_name = "team"

    def get_queryset(self):
        return User.objects.prefetch_related("groups")


class SiteSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=254)


class SiteSearchView(View):
    """The header's search: straight to the one thing that matches, else every match by kind."""

    http_method_names = ["get", "head", "options"]

    def get(self, request):
        form = SiteSearchForm(request.GET)
        results, text = [], ""
        if form.is_valid():
            text = form.cleaned_data["q"]
            results = search_everything(request.user, text)
            found = only_match(results)
            if found is not None:
                return redirect(found.url)
        kinds = [
            {
                "title": matches.finder.title,
                "found": matches.found,
                "more": matches.more,
                "list_url": f"{reverse(matches.finder.list_url_name)}?{urlencode({'q': text})}"
                if matches.finder.list_url_name
                else "",
            }
            for matches in results
        ]
        return render(
            request,
            "core/search_results.html",
            {
                "title": _("Search"),
                "form": form,
                "text": text,
                "kinds": kinds,
                "too_short": 0 < len(text) < SHORTEST_PART,
                "shortest_part": SHORTEST_PART,
                "breadcrumbs": [(_("Search"), None)],
            },
        )


@login_not_required
@never_cache
def healthz(request):
    """For load balancers: each part's state (core/health.py); 503 when the database is down.
    HealthCheckMiddleware answers it first; this view serves the URL's name and tests."""
    return healthz_response()


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Checks the current password through authenticate(), so django-axes counts each wrong one
    as a failed sign-in of this user from this address (IPv6: its /64) and locks further tries
    out after LOGIN_FAILURE_LIMIT, as on the sign-in page: someone at an unattended session
    cannot guess the password there without limit."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        checked = authenticate(
            self.request, username=self.user.get_username(), password=old_password
        )
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old_password


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


@require_POST
def choose_language(request):
    """The header's language menu: save the signed-in user's language, then go back to the page
    they were on (only a page of this site)."""
    language = request.POST.get("language", "")
    if supported(language):
        set_preferred_language(request=request, language=language)
    else:
        messages.error(request, gettext("Choose English or Russian."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("home")
    return redirect(back)
