from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "purchases"
    verbose_name = "Purchases"

    def ready(self):
        from buyers.models import WalletEntry, register_email_kinds
        from buyers.signals import wallet_entry_posted
        from core.site_search import register_finder

        from .finders import FINDERS
        from .journal.booking import book_wallet_entry
        from .notifications import EmailKind

        # Buyers record every e-mail sent to a buyer; the kinds this app sends are its own.
        register_email_kinds(EmailKind)

        # What the header search finds in this app (core imports no app).
        for name, finder in FINDERS.items():
            register_finder(name, finder)

        # Every e-wallet movement (made by buyers' services) is booked in the money journal by
        # purchases, synchronously, in the transaction that wrote it.
        wallet_entry_posted.connect(
            book_wallet_entry, sender=WalletEntry, dispatch_uid="journal_books_wallet_entries"
        )
