from django.conf import settings
from django.utils.functional import SimpleLazyObject

from . import __version__
from .navigation import navigation_for


def site(request):
    """The shop's name, the version for the footer, and the user's navigation (built on use)."""
    return {
        "shop_name": settings.SHOP_NAME,
        "version": __version__,
        "navigation": SimpleLazyObject(lambda: navigation_for(request.user, request.path)),
    }
