"""Write the purchases export's 1M typed rows (17 columns: codes, two local times, texts with
Cyrillic, four amounts, a currency) as an .xlsx with one library; print seconds, rows/s and this
process's peak RSS (VmHWM). How XlsxWriter (constant_memory, what core.xlsx_export uses) was
chosen over openpyxl (write_only):

    python -m tests.bench.xlsx_libraries xlsxwriter|openpyxl [rows]
"""

import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

KINDS = ["c", "t", "t", "s", "s", "c", "s", "s", "m", "m", "s", "m", "c", "c", "s", "c", "m"]


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def rows(count):
    start = datetime(2026, 1, 1)
    for i in range(count):
        at = start + timedelta(seconds=i)
        yield [
            f"P{i:07x}", at, at, f"buyer{i}@example.com", "Борис Иванов", "CEFV1duK",
            "Winter Yoga", "Buy · HD", Decimal("14.99"), Decimal("0.00"), "", Decimal("14.99"),
            "EUR", "wallet", f"0{i * 7919:X}", "completed", Decimal("0.00"),
        ]  # fmt: skip


def with_xlsxwriter(path, count):
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet()
    times, money = (
        book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        book.add_format({"num_format": "0.00"}),
    )
    sheet.write_row(0, 0, [f"h{i}" for i in range(len(KINDS))])
    for r, row in enumerate(rows(count), 1):
        for c, (value, kind) in enumerate(zip(row, KINDS, strict=True)):
            if kind == "t":
                sheet.write_datetime(r, c, value, times)
            elif kind == "m":
                sheet.write_number(r, c, float(value), money)
            else:
                sheet.write_string(r, c, value)
    book.close()


def with_openpyxl(path, count):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([f"h{i}" for i in range(len(KINDS))])
    for row in rows(count):
        cells = []
        for value, kind in zip(row, KINDS, strict=True):
            cell = WriteOnlyCell(sheet, value=float(value) if kind == "m" else value)
            if kind == "t":
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif kind == "m":
                cell.number_format = "0.00"
            cells.append(cell)
        sheet.append(cells)
    book.save(path)


def main(library, count=1_000_000):
    path = tempfile.mktemp(suffix=".xlsx")  # noqa: S306 (the libraries open it by name)
    started = time.perf_counter()
    {"xlsxwriter": with_xlsxwriter, "openpyxl": with_openpyxl}[library](path, count)
    seconds = time.perf_counter() - started
    print(
        f"{library}: {count:,} rows in {seconds:.1f} s, {count / seconds:,.0f} rows/s, "
        f"peak RSS {peak_rss_mb():.0f} MB, {os.path.getsize(path) / 1e6:.0f} MB file, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    os.unlink(path)


if __name__ == "__main__":
    main(sys.argv[1], *(int(arg) for arg in sys.argv[2:]))
