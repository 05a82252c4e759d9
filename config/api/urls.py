"""The API's URLs, under /api/. Each view authenticates by API key and answers 401 itself."""

from django.urls import path

from . import ppv, purchases

app_name = "api"

urlpatterns = [
    path("ppv/<str:method>", ppv.ppv_method, name="ppv"),
    *purchases.urlpatterns,
]
