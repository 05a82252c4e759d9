"""The site's URLs plus two that fail, to see the error pages a person would meet."""

from django.core.exceptions import SuspiciousOperation
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def broken_view(request):
    raise ZeroDivisionError("a bug")


def suspicious_view(request):
    raise SuspiciousOperation("a forged header")


urlpatterns = [
    path("broken/", broken_view),
    path("suspicious/", suspicious_view),
    *site_urlpatterns,
]
