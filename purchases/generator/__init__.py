"""Realistic, reproducible shop data at any scale (`manage.py generate_data`).

What it writes, consistent with the services' rules:
- the catalog (ORM, a few hundred rows, with their "created" history): subscriptions of every
  kind, scope, window and sale state, media, pricing models (one-time and recurring, with and
  without trials, EUR/USD/JPY), coupons, shop contacts;
- buyers (e-mail, phone-only, Cyrillic and Japanese names, some with a PIN), staff-granted and
  purchased accesses with device activations, e-wallet ledgers, purchase sessions, purchases
  in every status over two years, refunds, cancellations, recurring contracts with their
  renewal attempts (declines, dunning retries, expiry), and the sandbox gateways' own ledger
  of those charges and refunds (which refunds, renewals and payment pages consult).

Buyers are generated one at a time, each with its purchases in time order, so the rules that
depend on a buyer's history hold: no purchase of a product the buyer still has access to, one
pending purchase per product, a ledger whose `balance_after` runs without ever going negative
(a top-up comes before a wallet payment the balance cannot cover), refunds that never exceed
what was paid, contract periods paid = the purchase's own period + approved renewals. The
product's own settings and rules are read where it defines them: settings.RENEWAL_RETRY_DAYS,
PENDING_PURCHASE_MINUTES and PURCHASE_SESSION_MINUTES, purchases.recurrence's billing periods,
the sandbox card gateway's answers, the public code alphabets.

Fast: rows get explicit ids (after the tables' current maximum) and are written in batches,
inside one transaction, by `load.RowWriter` (COPY on PostgreSQL, in a thread that overlaps the
generation; the loaded tables' foreign keys and non-unique indexes dropped for the load and
re-added after it). Reproducible: one `random.Random(seed)` draws everything, and every time is
relative to `now`; the same seed, `now` and starting database give the same rows (a digest of
a small shop's rows is pinned by tests/purchases/test_generator_output.py). Public codes are a
seeded prefix plus a bijective scramble of the row number, checked against the rows already there.

The parts, in the order a run uses them:
    run.py        generate_data, the shared `Run` (seeded random, clock, ids, codes, settings)
    catalog.py    the catalog through the ORM; `Offer` and `Product`, what purchases draw from
    buyers.py     one buyer with their history, and their wallet ledger
    purchases.py  a purchase with its session, gateway charge, access, refunds, cancellation
    contracts.py  a recurring purchase's contract and its renewals up to now
    accesses.py   accesses, their device activations, staff grants
    gateway.py    the sandbox gateways' ledger of those charges and refunds
    history.py    what a buyer's generation carries between those modules
    names.py      names, e-mail addresses, phones, titles, reasons
    codes.py      public codes; values.py: times and amounts as the database's text
    load.py       the row writer (COPY), the tables it loads, keys and indexes for the load

How to add a table (a money journal, contract pauses):
1. Add its model to `load.LOADED` after the tables its rows refer to. The writer, the dropping
   and re-adding of keys and indexes, the identity sequences and ANALYZE follow that list.
2. Where the event happens (a charge in purchases.py, a renewal in contracts.py; a new kind of
   history in a module of its own, called from there), write each row as a dict keyed by the
   model's column names (`Field.column`: `purchase_id`, not `purchase`) with
   `run.writer.add(Model, {...})`: `run.new_id(Model)` for its id, `run.text.ts(t)` for a time,
   `run.text.money(minor, currency)` for an amount. A row that misses a column of its model, or
   names one it does not have, stops the load (`load.ColumnMismatch`);
   tests/purchases/test_generator_rows.py also checks every value against its column's field.
3. Every new draw from `run.rng` changes the rows drawn after it: the pinned digest then fails;
   record the new one in the same commit and say why the output changed.
4. State the rule the new rows keep in tests/purchases/test_generate_data.py (the journal sums to
   the purchases, a paused contract is not charged, ...).
"""

from .run import ShopHasPurchases, generate_data

__all__ = ["ShopHasPurchases", "generate_data"]
