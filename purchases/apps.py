from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "purchases"
    verbose_name = "Purchases"

    def ready(self):
        from buyers.models import register_email_kinds
        from core import outbox
        from core.site_search import register_finder

        from . import notifications
        from .finders import FINDERS

        # Buyers record every e-mail sent to a buyer; the kinds this app sends are its own.
        register_email_kinds(notifications.EmailKind)
        # The outbox delivers this app's e-mails after the commit that wrote them.
        for kind, handler in notifications.OUTBOX_HANDLERS.items():
            outbox.register(kind, handler)

        # What the header search finds in this app (core imports no app).
        for name, finder in FINDERS.items():
            register_finder(name, finder)
