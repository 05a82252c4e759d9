from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BuyersConfig(AppConfig):
    name = "buyers"
    verbose_name = _("Buyers")

    def ready(self):
        from core import outbox
        from core.site_search import register_finder

        from . import bulk, notifications
        from .finders import FINDERS

        # What the header search finds in this app (core imports no app).
        for name, finder in FINDERS.items():
            register_finder(name, finder)
        # The outbox delivers this app's e-mails after the commit that wrote them.
        for kind, handler in notifications.OUTBOX_HANDLERS.items():
            outbox.register(kind, handler)
        # A bulk operation is started by an outbox message written with it.
        outbox.register(bulk.OPERATION_MESSAGE, bulk.hand_to_worker)
