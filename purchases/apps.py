from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PurchasesConfig(AppConfig):
    name = "purchases"
    verbose_name = _("Purchases")

    def ready(self):
        from buyers.models import WalletEntry, register_email_kinds
        from buyers.signals import wallet_entry_posted
        from core import outbox
        from core.site_search import register_finder

        from . import notifications
        from .finders import FINDERS
        from .journal.booking import book_wallet_entry

        # Buyers record every e-mail sent to a buyer; the kinds this app sends are its own.
        register_email_kinds(notifications.EmailKind)
        # The outbox delivers this app's e-mails after the commit that wrote them.
        for kind, handler in notifications.OUTBOX_HANDLERS.items():
            outbox.register(kind, handler)

        # What the header search finds in this app (core imports no app).
        for name, finder in FINDERS.items():
            register_finder(name, finder)

        # Every e-wallet movement (made by buyers' services) is booked in the money journal by
        # purchases, synchronously, in the transaction that wrote it.
        wallet_entry_posted.connect(
            book_wallet_entry, sender=WalletEntry, dispatch_uid="journal_books_wallet_entries"
        )
