"""What purchases owns, as use cases grouped by what they do; each returns its result or raises a
named PurchaseError (purchases/errors.py) and writes nothing when it refuses:

- sessions: open a purchase session (reference 000);
- checkout: buy, confirm a redirect payment, expire unpaid purchases (reference 001);
- cancellations: refund a purchase, cancel a recurring one (reference 002);
- contracts: start, stop and change recurring contracts (reference 003);
- rules: the checks of reference 001 that sessions and checkout share.

Callers import a use case from the module that defines it; nothing is re-exported here. The
renewal engine that charges contracts every period is purchases/renewals.py.
"""
