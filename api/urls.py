"""The API's URLs, under /api/. Each view authenticates by API key and answers 401 itself."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import ppv
from .openapi import api


def _public(patterns):
    """The JSON API's URLs answer 401 themselves; its schema and docs describe, never reveal;
    ninja's empty index (`api-root`, 404) names the prefix the schema's paths start with."""
    for pattern in patterns:
        login_not_required(pattern.callback)
    return patterns


urlpatterns = [
    path("ppv/<str:method>", ppv.ppv_method, name="ppv"),
    # The JSON API (django-ninja): its operations, the OpenAPI document (/api/schema/) and docs.
    *_public(api.urls[0]),
]
