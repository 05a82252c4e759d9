"""The purchase app's use cases, one module each, every one a transaction that returns its
result or raises a named PurchaseError:

- sessions: open a purchase session (reference 000);
- checkout: buy, confirm a redirect payment, expire unpaid purchases (reference 001);
- cancellations: refund a purchase, cancel a recurring one (reference 002);
- contracts: start, stop and change recurring contracts (reference 003);
- rules: the checks of reference 001 that sessions and checkout share.

Callers import a use case from the module that defines it. The renewal engine that charges
contracts every period is purchases/renewals.py.
"""
