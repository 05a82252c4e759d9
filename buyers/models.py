"""Buyers, their access to subscriptions, the e-wallet ledger and buyer e-mails.

The models arrive with the buyers issue; the app exists so the layout is whole from the start.
"""
