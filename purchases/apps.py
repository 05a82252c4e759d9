from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "purchases"
    verbose_name = "Purchases"

    def ready(self):
        from buyers.models import register_email_kinds
        from core.site_search import register_finder

        from .finders import FINDERS
        from .notifications import EmailKind

        # Buyers record every e-mail sent to a buyer; the kinds this app sends are its own.
        register_email_kinds(EmailKind)

        # What the header search finds in this app (core imports no app).
        for name, finder in FINDERS.items():
            register_finder(name, finder)
