from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Catalog")

    def ready(self):
        from core.site_search import register_finder

        from .finders import FINDERS

        # What the header search finds in this app (core imports no app).
        for name, finder in FINDERS.items():
            register_finder(name, finder)
