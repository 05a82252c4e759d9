"""The catalog: what a shop sells (Subscription, Media, PricingModel, Coupon, ShopContacts).

The models arrive with the catalog issue; the app exists so the layout is whole from the start.
"""
