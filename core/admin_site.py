"""The Django admin site of the back office: Django's, refusing query strings that hold a NUL
character with a 400 before any changelist reads them. PostgreSQL cannot compare text with NUL,
so each of the admin's list filters (ours and django-axes') would otherwise answer a 500."""

from functools import wraps

from django.contrib import admin
from django.http import HttpResponseBadRequest
from django.template import loader


def has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())


class BackOfficeAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        @wraps(view)
        def refuse_nul(request, *args, **kwargs):
            if has_nul(request.GET):
                return HttpResponseBadRequest(loader.get_template("400.html").render())
            return guarded(request, *args, **kwargs)

        return refuse_nul
