from django.apps import AppConfig


class BuyersConfig(AppConfig):
    name = "buyers"
    verbose_name = "Buyers"

    def ready(self):
        from core.site_search import register_finder

        from .finders import FINDERS

        # What the header search finds in this app (core imports no app).
        for name, finder in FINDERS.items():
            register_finder(name, finder)
