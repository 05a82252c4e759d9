"""The site's URLs plus `/bench/pk/<id>/`: a trivial Django view doing one primary-key SELECT,
through the same middleware, the anchor the access check's throughput is compared with."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns
from subscriptions.models import Subscription


@login_not_required
def one_primary_key_select(request, pk):
    subscription = Subscription.objects.only("code").get(pk=pk)
    return JsonResponse({"code": subscription.code})


urlpatterns = [
    path("bench/pk/<int:pk>/", one_primary_key_select, name="bench_pk"),
    *site_urlpatterns,
]
