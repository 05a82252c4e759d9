"""Trigram indexes for the buyers' and the wallet ledger's search box, on PostgreSQL only (see
config/search_indexes.py). pg_trgm is a trusted extension (PostgreSQL 13+): the database's
owner may create it without being a superuser."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from core.search_indexes import AddTrigramIndex


class Migration(migrations.Migration):
    dependencies = [("buyers", "0005_list_order_indexes")]

    operations = [
        TrigramExtension(),
        AddTrigramIndex(table="buyers_buyer", column="email", name="buyer_email_search_idx"),
        AddTrigramIndex(table="buyers_buyer", column="name", name="buyer_name_search_idx"),
        AddTrigramIndex(table="buyers_buyer", column="phone", name="buyer_phone_search_idx"),
        AddTrigramIndex(
            table="buyers_walletentry", column="reason", name="wallet_entry_reason_search_idx"
        ),
        AddTrigramIndex(
            table="buyers_walletentry", column="reference", name="wallet_entry_ref_search_idx"
        ),
    ]
