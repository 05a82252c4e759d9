from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from .gateways import get_gateway, pay_on_sandbox_page
from .models import SandboxCharge


@login_not_required
@require_http_methods(["GET", "POST"])
def sandbox_checkout(request, pnref):
    """The sandbox provider's payment page a redirect gateway sends the buyer to: pay or cancel.
    Public, like a provider's page; answers 404 unless its sandbox gateway is enabled."""
    charge = get_object_or_404(SandboxCharge, pnref=pnref, kind=SandboxCharge.Kind.CHARGE)
    gateway = get_gateway(charge.gateway)
    if gateway is None:
        raise Http404("This payment method is not enabled.")
    if request.method == "POST":
        # The return and cancel URLs were checked by the purchase service when the payment began.
        return HttpResponseRedirect(pay_on_sandbox_page(charge, paid="pay" in request.POST))
    return render(
        request, "purchases/sandbox_checkout.html", {"charge": charge, "gateway": gateway}
    )
