"""Signals buyers send to the apps above them (which connect in their AppConfig.ready()).

`wallet_entry_posted(sender=WalletEntry, entry=..., links=...)` is sent synchronously, inside
the transaction that wrote the entry, for every e-wallet movement: the purchases app books it
in the money journal there, so a wallet movement and its journal row commit or roll back
together. `links` is what the caller said the movement belongs to (a purchase, a renewal
charge), passed on uninterpreted: buyers knows nothing of purchases.
"""

from django.dispatch import Signal

wallet_entry_posted = Signal()
