"""Every export opened in LibreOffice (headless, Debian's `libreoffice-calc-nogui`), as a finance
user's spreadsheet opens it: each CSV imported (UTF-8, comma, English number format, special
numbers such as dates detected) and each .xlsx loaded, both saved by LibreOffice as .xlsx and
read back with openpyxl. Times must arrive as dates, amounts as numbers equal to the database,
and text (Cyrillic, quotes, commas, line breaks, formula-like values) intact.

`make test` installs LibreOffice (the Makefile's system-packages), so CI runs these; on a dev
machine without it, and without root to install it, they are skipped saying so.
"""

import os
import shutil
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from purchases.models import ContractTransaction, Purchase, Refund
from tests.purchases.test_reports import shop_time_zone  # noqa: F401
from tests.site.export_shop import (
    AUTH_CODE,
    EXPORTS,
    FORMULA_NAME,
    LEADING_ZERO_CODE,
    TRICKY_NAME,
    export_url,
    make_export_shop,
)

SOFFICE = shutil.which("soffice")
ZONE = " (America/St_Johns)"
# The CSV import filter: comma, double quote, UTF-8, from line 1, no column types, English
# (United States) numbers, quoted fields not forced to text, special numbers (dates) detected.
CSV_FILTER = "CSV Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true"

pytestmark = [pytest.mark.django_db, pytest.mark.libreoffice]


@pytest.fixture(scope="module")
def soffice():
    if SOFFICE is None:
        if os.geteuid() == 0 or os.environ.get("CI"):
            pytest.fail("soffice is missing: `make test` installs libreoffice-calc-nogui as root")
        pytest.skip(
            "LibreOffice is not installed (soffice not on PATH): "
            "apt-get install libreoffice-calc-nogui, or run `make test` as root"
        )
    return SOFFICE


def through_libreoffice(soffice, files: list[Path], out: Path, *, infilter=None) -> list[Path]:
    """Open each file in LibreOffice and save it as .xlsx in `out`; the saved paths."""
    profile = out.parent / "lo-profile"
    command = [
        soffice,
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--norestore",
        "--convert-to",
        "xlsx:Calc MS Excel 2007 XML",
        "--outdir",
        str(out),
    ]
    if infilter:
        command.append(f"--infilter={infilter}")
    subprocess.run([*command, *map(str, files)], check=True, capture_output=True, timeout=300)
    saved = [out / (file.stem + ".xlsx") for file in files]
    missing = [str(path) for path in saved if not path.exists()]
    assert not missing, f"LibreOffice did not save {missing}"
    return saved


def sheet_rows(path: Path) -> tuple[list[str], list[list]]:
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    header = [str(cell) if cell is not None else "" for cell in rows[0]]
    return header, [list(row) for row in rows[1:]]


@pytest.fixture
def opened(client, admin_user, soffice, tmp_path):
    """Every export downloaded as CSV and as .xlsx, then opened and saved by LibreOffice:
    {export name: {"csv": (header, rows), "xlsx": (header, rows)}}."""
    make_export_shop(admin_user)
    client.force_login(admin_user)
    downloads = {"csv": [], "xlsx": []}
    for name, url_name, query in EXPORTS:
        for extension in ("csv", "xlsx"):
            path, params = export_url(url_name, query, extension)
            response = client.get(path, params)
            assert response.status_code == 200, (name, extension)
            file = tmp_path / extension / f"{name}.{extension}"
            file.parent.mkdir(exist_ok=True)
            file.write_bytes(b"".join(response.streaming_content))
            downloads[extension].append(file)
    opened = {}
    for extension, files in downloads.items():
        out = tmp_path / f"from-{extension}"
        saved = through_libreoffice(
            soffice, files, out, infilter=CSV_FILTER if extension == "csv" else None
        )
        for file, path in zip(files, saved, strict=True):
            opened.setdefault(file.stem, {})[extension] = sheet_rows(path)
    return opened


def column(table, header):
    names, rows = table
    index = names.index(header)
    return [row[index] for row in rows]


def check_times_open_as_dates_in_every_export(opened):
    checked = 0
    for name, formats in opened.items():
        for extension, (header, rows) in formats.items():
            for index, title in enumerate(header):
                if not title.endswith(ZONE):
                    continue
                for row in rows:
                    if str(row[0]).startswith("Total") or any(
                        str(cell).startswith("Total ") for cell in row
                    ):
                        continue  # a workbook's totals row
                    value = row[index]
                    assert value is None or isinstance(value, datetime), (
                        name,
                        extension,
                        title,
                        value,
                    )
                    checked += value is not None
    assert checked > 20


def check_amounts_open_as_numbers_equal_to_the_database(opened):
    for extension in ("csv", "xlsx"):
        purchases = opened["purchases"][extension]
        codes = [str(code) for code in column(purchases, "Code")]
        amounts = column(purchases, "Amount")
        for purchase in Purchase.objects.all():
            code = purchase.code if extension == "xlsx" else str(int(purchase.code)) if (
                purchase.code.isdigit()
            ) else purchase.code  # fmt: skip
            value = amounts[codes.index(code)]
            assert isinstance(value, (int, float)), (extension, value)
            assert Decimal(str(value)) == purchase.amount
        refunds = opened["refunds"][extension]
        assert [Decimal(str(v)) for v in column(refunds, "Amount") if v is not None][:1] == [
            Refund.objects.get().amount
        ]
        charges = opened["contract-transactions"][extension]
        assert Decimal(str(column(charges, "Transaction_Amount")[0])) == (
            ContractTransaction.objects.get().amount
        )
        revenue = opened["revenue-per-day"][extension]
        assert isinstance(column(revenue, "Gross")[0], (int, float))


def check_texts_open_intact(opened):
    for extension in ("csv", "xlsx"):
        purchases = opened["purchases"][extension]
        assert TRICKY_NAME in column(purchases, "Buyer name")
        subscriptions = column(purchases, "Subscription")
        if extension == "xlsx":
            # A workbook's text cell is text: the formula-like name exactly as typed.
            assert FORMULA_NAME in subscriptions
        else:
            # The CSV's guard: quoted, so LibreOffice shows it as text and runs nothing.
            assert "'" + FORMULA_NAME in subscriptions
        reasons = column(opened["refunds"][extension], "Reason")
        assert 'Kunde sagt: "zu teuer", Ärger\nzweite Zeile' in reasons
        emails = column(purchases, "Buyer e-mail")
        assert ("@evil@example.com" if extension == "xlsx" else "'@evil@example.com") in emails


def check_codes_keep_their_leading_zeros_in_the_workbook(opened):
    header, rows = opened["purchases"]["xlsx"]
    assert LEADING_ZERO_CODE in column((header, rows), "Code")
    charges = opened["contract-transactions"]["xlsx"]
    assert column(charges, "AuthCode")[0] == AUTH_CODE
    assert column(charges, "PNRef")[0] == "0099"


def check_the_workbook_totals_survive_libreoffice(opened):
    header, rows = opened["purchases"]["xlsx"]
    totals = {row[0]: row for row in rows if str(row[0]).startswith("Total")}
    amount = header.index("Amount")
    assert Decimal(str(totals["Total EUR"][amount])) == sum(
        p.amount for p in Purchase.objects.filter(currency="EUR")
    )
    assert totals["Total JPY"][amount] == 1500


def check_every_export_opens_in_both_formats(opened):
    assert set(opened) == {name for name, _, _ in EXPORTS}
    for name, formats in opened.items():
        assert set(formats) == {"csv", "xlsx"}, name
        csv_header, csv_rows = formats["csv"]
        xlsx_header, xlsx_rows = formats["xlsx"]
        assert csv_header == xlsx_header, name
        # The workbook has the CSV's rows, then its totals rows.
        assert len(xlsx_rows) >= len(csv_rows), name


def test_every_export_opens_in_libreoffice_with_dates_numbers_and_text_intact(opened):
    # One LibreOffice run for all the files (it takes seconds to start): each check below
    # reads the same opened files.
    check_every_export_opens_in_both_formats(opened)
    check_times_open_as_dates_in_every_export(opened)
    check_amounts_open_as_numbers_equal_to_the_database(opened)
    check_texts_open_intact(opened)
    check_codes_keep_their_leading_zeros_in_the_workbook(opened)
    check_the_workbook_totals_survive_libreoffice(opened)


def test_the_list_page_links_both_downloads(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("purchases:list")).content.decode()
    assert "export=xlsx" in page and "export=csv" in page
