"""The buyer's self-service page, opened by the signed link in their e-mails (no password; the
link is made and read by buyers/self_service_links.py): their subscriptions, accesses and
receipts, and the actions a buyer may take on a subscription. Every action calls the service
staff use (purchases/services/), with the buyer as the one who acted; nothing here decides a
rule of its own, and nothing reaches past the one buyer the link names.

- selectors: what the page shows of one buyer;
- forms: the shape of each action's input;
- views, urls: the pages (no sign-in, no staff navigation), and the rate limits.
"""
