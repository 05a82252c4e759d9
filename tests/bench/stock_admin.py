"""The staff lists of the benchmark and the plain equivalent each is compared with: a stock
`ModelAdmin` (as `admin.site.register` gives it, with Django's own counting, paging and search)
showing the same columns, 100 or 25 rows a page, with the same filter and search fields.

Serves as the benchmark server's URLconf: the site's own URLs, plus /stock-admin/ (100 rows a
page) and /stock-admin-25/ (25 rows a page).
"""

from dataclasses import dataclass

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.urls import include, path

from buyers.admin import AccessStatusFilter
from buyers.filters import AccessFilter, BuyerFilter
from buyers.tables import AccessTable, BuyerTable
from purchases.filters import ContractFilter, PurchaseFilter
from purchases.tables import ContractTable, PurchaseTable
from subscriptions.filters import SubscriptionFilter
from subscriptions.tables import SubscriptionTable


@dataclass
class StaffList:
    name: str
    url: str
    table: type
    filterset: type
    admin_path: str  # the changelist's path under /admin/ and /stock-admin/
    filter_label: str
    our_filter: str  # the filter in our query string
    admin_filter: str  # the same filter in the admin's query string
    list_filter: tuple  # what the stock admin needs to accept that filter

    @property
    def model(self):
        return self.table._meta.model


LISTS = [
    StaffList(
        "purchases",
        "/purchases/",
        PurchaseTable,
        PurchaseFilter,
        "purchases/purchase/",
        "completed in EUR",
        "status=completed&currency=EUR",
        "status__exact=completed&currency__exact=EUR",
        ("status", "currency"),
    ),
    StaffList(
        "buyers",
        "/buyers/",
        BuyerTable,
        BuyerFilter,
        "buyers/buyer/",
        "created since 2025-06-01",
        "created_after=2025-06-01",
        "created_at__gte=2025-06-01",
        ("created_at",),
    ),
    StaffList(
        "accesses",
        "/accesses/",
        AccessTable,
        AccessFilter,
        "buyers/access/",
        "active",
        "status=active",
        "status=active",
        (AccessStatusFilter,),
    ),
    StaffList(
        "subscriptions",
        "/subscriptions/",
        SubscriptionTable,
        SubscriptionFilter,
        "subscriptions/subscription/",
        "sold by password",
        "kind=password",
        "kind__exact=password",
        ("kind",),
    ),
    StaffList(
        "contracts",
        "/renewals/",
        ContractTable,
        ContractFilter,
        "purchases/recurringcontract/",
        "past due",
        "status=past_due",
        "status__exact=past_due",
        ("status",),
    ),
]


def field_path(model, accessor: str):
    """`accessor` when it names a model field (through foreign keys), else None."""
    for part in accessor.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        model = field.related_model if field.is_relation else model
    return accessor


def stock_columns(staff_list):
    """(list_display, what of ours it cannot show): each visible column of our table as the
    field (or model attribute) it shows. Columns computed by our list alone (annotations,
    prefetched balances) have no stock equivalent and are left out, which spares the stock
    admin work."""
    display, missing = [], []
    for name, column in staff_list.table.base_columns.items():
        if not column.visible:
            continue
        accessor = str(column.accessor or name)
        if accessor == "pk":
            accessor = name
        if field_path(staff_list.model, accessor) or hasattr(staff_list.model, accessor):
            display.append(accessor)
        else:
            missing.append(name)
    return display, missing


def stock_admin_class(staff_list, per_page):
    display, _ = stock_columns(staff_list)
    relations = sorted({column.split("__")[0] for column in display if "__" in column})
    return type(
        f"Stock{staff_list.model.__name__}Admin{per_page}",
        (admin.ModelAdmin,),
        {
            "list_display": display,
            "list_per_page": per_page,
            "list_filter": staff_list.list_filter,
            "search_fields": staff_list.filterset.search_fields,
            "list_select_related": relations or False,
        },
    )


stock_site = admin.AdminSite(name="stock_admin")
stock_site_25 = admin.AdminSite(name="stock_admin_25")
for staff_list in LISTS:
    stock_site.register(staff_list.model, stock_admin_class(staff_list, 100))
    stock_site_25.register(staff_list.model, stock_admin_class(staff_list, 25))

urlpatterns = [
    path("stock-admin/", stock_site.urls),
    path("stock-admin-25/", stock_site_25.urls),
    path("", include("config.urls")),
]
