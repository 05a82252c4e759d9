"""Every way staff can sort a big table is read from an index.

A list page or admin changelist of a table that grows with sales (purchases, buyers, accesses,
ledgers) may sort only by a unique column or one with an index on (column, id), the pk tiebreak
every list appends: sorting a million rows any other way costs about a second a page
(tests/bench/RESULTS.md, "Staff list pages"). A new sortable column without its index fails here.
"""

import pytest
from django.contrib import admin
from django.db.models import Index

from buyers.models import Access, AccessActivation, Buyer, SentEmail, WalletEntry
from core.listing import ListPageView
from core.models import AuditEntry
from core.readonly_admin import LargeTableAdmin
from purchases.models import (
    Cancellation,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    Refund,
    SandboxCharge,
)

BIG_TABLES = {
    Purchase,
    PurchaseSession,
    Refund,
    Cancellation,
    SandboxCharge,
    RecurringContract,
    ContractTransaction,
    Buyer,
    Access,
    AccessActivation,
    WalletEntry,
    SentEmail,
    AuditEntry,
}


def sortable_columns(model):
    """Columns a sort "by column, then pk" reads from an index: the pk, unique columns, and
    columns with an index on (column, pk). A single-column index is not enough: the rows of one
    value (a status, a price) would still be sorted by pk one by one."""
    pk = model._meta.pk
    columns = {pk.column}
    for field in model._meta.concrete_fields:
        if field.unique:
            columns.add(field.column)
    for index in model._meta.indexes:
        if not isinstance(index, Index) or index.condition is not None:
            continue
        fields = [name.lstrip("-") for name in index.fields]
        if len(fields) == 2 and fields[1] in (pk.name, pk.attname, "pk", "id"):
            columns.add(model._meta.get_field(fields[0]).column)
    return columns


def sort_column(model, accessor):
    """The database column a sort by `accessor` reads, or None when it crosses a relation."""
    name = str(accessor).lstrip("-").replace(".", "__")
    if name == "pk":
        return model._meta.pk.column
    if "__" in name:
        return None
    return model._meta.get_field(name).column


def all_subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from all_subclasses(subclass)


def big_list_views():
    import config.urls  # noqa: F401  (imports every app's views)

    views = [
        view
        for view in all_subclasses(ListPageView)
        if view.table_class is not None and view.table_class._meta.model in BIG_TABLES
    ]
    assert len(views) >= 8, "every big table's list page is checked"
    return views


@pytest.mark.parametrize("view", big_list_views(), ids=lambda view: view.__name__)
def test_every_sortable_column_of_a_big_list_reads_an_index(view):
    model = view.table_class._meta.model
    table = view.table_class(data=model.objects.none())
    indexed = sortable_columns(model)
    for column in table.columns:
        if not column.orderable:
            continue
        first = sort_column(model, column.order_by[0].bare)
        assert first in indexed, (
            f"{view.__name__} sorts by {column.name!r} ({first or 'a joined column'}) without an "
            f"index on ({column.name}, id): add one to {model.__name__}.Meta.indexes, or make it "
            "orderable=False"
        )


def big_admins():
    admins = [
        model_admin for model, model_admin in admin.site._registry.items() if model in BIG_TABLES
    ]
    assert len(admins) == len(BIG_TABLES)
    return admins


@pytest.mark.parametrize("model_admin", big_admins(), ids=lambda a: type(a).__name__)
def test_a_big_tables_admin_counts_capped_and_sorts_only_by_indexed_columns(model_admin, rf):
    model = model_admin.model
    assert isinstance(model_admin, LargeTableAdmin), "no full COUNT over the table on every page"
    assert not model_admin.date_hierarchy, "a date hierarchy reads every row's date"
    request = rf.get("/")
    indexed = sortable_columns(model)
    ordering = model_admin.get_ordering(request) or model._meta.ordering or ["-pk"]
    assert sort_column(model, ordering[0]) in indexed, f"{type(model_admin).__name__} ordering"
    sortable = model_admin.get_sortable_by(request)
    assert sortable is not None and set(sortable) <= set(model_admin.list_display)
    for name in sortable:
        assert sort_column(model, name) in indexed, f"{type(model_admin).__name__} sorts by {name}"
