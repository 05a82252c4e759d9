"""The .xlsx next to every CSV: read back with openpyxl, as a spreadsheet would see it: times as
dates in the shop's time zone, amounts as numbers shown with their currency's minor digits,
codes and typed text as text cells exactly as stored, a frozen header row, a totals row per
currency; the old "CSV for Excel" addresses redirect to it."""

import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from purchases.models import Purchase
from tests.purchases.test_reports import local, shop_time_zone  # noqa: F401
from tests.site.export_shop import (
    AUTH_CODE,
    EXPORTS,
    FORMULA_NAME,
    LEADING_ZERO_CODE,
    TRICKY_NAME,
    export_url,
    make_export_shop,
)

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(response):
    assert response.status_code == 200, response
    assert response["Content-Type"] == XLSX
    return load_workbook(io.BytesIO(b"".join(response.streaming_content))).active


def rows_by_header(sheet):
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    return header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


def test_the_purchases_workbook_types_every_cell(client, admin_user):
    shop = make_export_shop(admin_user)
    client.force_login(admin_user)
    response = client.get(
        reverse("purchases:list"),
        {"export": "xlsx", "created_min": "2026-03-01", "created_max": "2026-03-31"},
    )
    assert response["Content-Disposition"] == (
        'attachment; filename="purchases_2026-03-01_to_2026-03-31.xlsx"'
    )
    sheet = workbook(response)
    assert sheet.freeze_panes == "A2"
    header, rows = rows_by_header(sheet)
    assert header[:3] == ["Code", "Created (America/St_Johns)", "Completed (America/St_Johns)"]
    by_code = {row["Code"].value: row for row in rows if row["Currency"].value}
    first, second = by_code[LEADING_ZERO_CODE], by_code[shop["second"].code]
    # A time is a date cell with the local wall-clock time, to the second.
    assert first["Created (America/St_Johns)"].is_date
    assert first["Created (America/St_Johns)"].value == datetime(2026, 3, 2, 23, 50, 0)
    assert second["Created (America/St_Johns)"].value == datetime(2026, 3, 4, 0, 10, 0)
    # Amounts: numbers with the currency's digits as their number format.
    assert first["Amount"].data_type == "n" and first["Amount"].value == 7.5
    assert first["Amount"].number_format == "0.00"
    assert second["Amount"].value == 1500 and second["Amount"].number_format == "0"
    assert first["Refunded amount"].value == 1.25
    # Codes and typed text: text cells, exactly as stored (no quote prefix in a workbook).
    assert first["Code"].data_type == "s"
    assert first["Buyer name"].value == TRICKY_NAME
    assert second["Subscription"].value == FORMULA_NAME
    assert second["Subscription"].data_type == "s"
    assert second["Buyer e-mail"].value == "@evil@example.com"
    # One totals row per currency, under the rows, equal to the database's sums.
    totals = {row["Code"].value: row for row in rows if str(row["Code"].value).startswith("Total")}
    assert set(totals) == {"Total EUR", "Total JPY"}
    eur = Purchase.objects.filter(currency="EUR")
    assert Decimal(str(totals["Total EUR"]["Amount"].value)) == sum(p.amount for p in eur)
    assert totals["Total JPY"]["Amount"].value == 1500


def test_the_contracts_workbook_and_csv_write_the_currency_code_and_local_times(client, admin_user):
    make_export_shop(admin_user)
    client.force_login(admin_user)
    query = {"next_bill_min": "2026-04-01", "next_bill_max": "2026-04-30"}
    csv_response = client.get(reverse("contracts:list"), {**query, "export": "csv"})
    assert csv_response["Content-Disposition"] == (
        'attachment; filename="contracts_2026-04-01_to_2026-04-30.csv"'
    )
    text = b"".join(csv_response.streaming_content).decode()
    assert "Next bill (America/St_Johns)" in text.splitlines()[0]
    assert ",7.50,EUR," in text and "EUR · Euro" not in text
    assert "2026-04-02 23:50:00" in text
    sheet = workbook(client.get(reverse("contracts:list"), {**query, "export": "xlsx"}))
    header, rows = rows_by_header(sheet)
    contract = rows[0]
    assert contract["Currency"].value == "EUR"
    assert contract["Next bill (America/St_Johns)"].value == datetime(2026, 4, 2, 23, 50)
    assert contract["Each period"].value == 7.5


def test_the_contract_transactions_workbook_keeps_leading_zeros(client, admin_user):
    make_export_shop(admin_user)
    client.force_login(admin_user)
    sheet = workbook(
        client.get(reverse("purchases:reports:contract_transactions"), {"export": "xlsx"})
    )
    _, rows = rows_by_header(sheet)
    charge = rows[0]
    assert charge["AuthCode"].value == AUTH_CODE and charge["AuthCode"].data_type == "s"
    assert charge["PNRef"].value == "0099"
    assert charge["ResponseMessage"].value == "=Approved"
    assert charge["Transaction_Date (America/St_Johns)"].value == datetime(2026, 3, 5, 3, 0)


@pytest.mark.parametrize(("name", "url_name", "query"), EXPORTS, ids=[e[0] for e in EXPORTS])
def test_every_export_downloads_as_a_workbook_named_after_its_range(
    client, admin_user, name, url_name, query
):
    make_export_shop(admin_user)
    client.force_login(admin_user)
    path, params = export_url(url_name, query, "xlsx")
    response = client.get(path, params)
    sheet = workbook(response)
    assert sheet.freeze_panes == "A2"
    assert sheet.max_row >= 1
    filename = response["Content-Disposition"].split('filename="')[1].rstrip('"')
    assert filename.startswith(name + "_") and filename.endswith(".xlsx")
    assert "_to_" in filename


@pytest.mark.parametrize(
    ("url_name", "query", "parameter"),
    [
        ("purchases:list", {"export": "csv", "excel": "1"}, "export"),
        ("purchases:reports:revenue", {"start": "2026-03-01", "end": "2026-03-31",
                                       "format": "csv", "excel": "1"}, "format"),
    ],
)  # fmt: skip
def test_an_old_csv_for_excel_link_redirects_to_the_workbook(
    client, admin_user, url_name, query, parameter
):
    client.force_login(admin_user)
    response = client.get(reverse(url_name), query)
    assert response.status_code == 302
    assert f"{parameter}=xlsx" in response["Location"]
    assert "excel" not in response["Location"]
    assert client.get(response["Location"])["Content-Type"] == XLSX


def test_the_workbook_needs_the_permission_the_csv_needs(client, staff_user):
    client.force_login(staff_user)
    for extension in ("csv", "xlsx"):
        response = client.get(reverse("purchases:reports:refunds"), {"export": extension})
        assert response.status_code == 403


def test_the_list_page_offers_the_workbook_and_not_csv_for_excel(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("purchases:list")).content.decode()
    assert 'data-testid="export-xlsx"' in page and "export=xlsx" in page
    assert "CSV for Excel" not in page and "excel=1" not in page
    summary = client.get(
        reverse("purchases:reports:revenue"), {"start": "2026-03-01", "end": "2026-03-31"}
    ).content.decode()
    assert "format=xlsx" in summary and "CSV for Excel" not in summary
