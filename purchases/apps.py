from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "purchases"
    verbose_name = "Purchases"

    def ready(self):
        from buyers.models import register_email_kinds

        from .notifications import EmailKind

        # Buyers record every e-mail sent to a buyer; the kinds this app sends are its own.
        register_email_kinds(EmailKind)
