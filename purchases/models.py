"""Purchase sessions, purchases, refunds, recurring contracts, gateways and finance reports.

The models arrive with the purchases issue; the app exists so the layout is whole from the start.
"""
