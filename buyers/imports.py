"""Reading a CSV file of buyers for the bulk import: which rows are good, which are bad and why.

The same checks as `services.create_buyer`, plus duplicates within the file; the contacts buyers
already have are looked up a thousand at a time, so a file of 100,000 rows previews in seconds.
Nothing is written here; the import (buyers/bulk.py) writes the good rows in the background, in
chunks.
"""

import csv
import io
from dataclasses import dataclass, field

from django.template.defaultfilters import filesizeformat

from . import errors
from .models import phone_key_of
from .services import check_buyer_fields, normalise_email, normalise_phone, taken_contacts

# No cap on rows: a file is imported in the background in chunks. The size cap keeps one
# upload's preview within a request (about 400,000 rows of e-mail, phone and name).
MAX_IMPORT_BYTES = 20 * 1024 * 1024
HEADER_ALIASES = {
    "email": "email",
    "e-mail": "email",
    "e_mail": "email",
    "mail": "email",
    "phone": "phone",
    "telephone": "phone",
    "name": "name",
    "full name": "name",
}


@dataclass
class ImportRow:
    line: int
    email: str = ""
    phone: str = ""
    name: str = ""
    error: str = ""


@dataclass
class ImportPreview:
    good: list[ImportRow] = field(default_factory=list)
    bad: list[ImportRow] = field(default_factory=list)


def decode_upload(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise errors.ImportFileInvalid(
            f"The file is larger than {filesizeformat(MAX_IMPORT_BYTES)}: split it."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise errors.ImportFileInvalid(
            "The file is not UTF-8 text: save it as CSV UTF-8."
        ) from None


def read_buyers_csv(text: str) -> ImportPreview:
    """Check every row; raise ImportFileInvalid when the file itself cannot be read."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise errors.ImportFileInvalid("The file is empty.") from None
    columns = [HEADER_ALIASES.get(name.strip().lower()) for name in header]
    if "email" not in columns and "phone" not in columns:
        raise errors.ImportFileInvalid(
            "The first row must name the columns: email, phone, name (email or phone needed)."
        )
    rows: list[ImportRow] = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            row = ImportRow(line=reader.line_num)
            for column, value in zip(columns, values, strict=False):
                if column:
                    setattr(row, column, value)
            row.email, row.phone = normalise_email(row.email), normalise_phone(row.phone)
            row.name = row.name.strip()
            rows.append(row)
    except csv.Error as error:
        raise errors.ImportFileInvalid(f"Line {reader.line_num} cannot be read: {error}.") from None
    return check_rows(rows)


def check_rows(rows: list[ImportRow]) -> ImportPreview:
    """Sort rows into good and bad (with the reason), in file order: a contact a buyer has, or
    that an earlier row has, makes a row bad."""
    taken = taken_contacts(
        emails=[row.email for row in rows if "\x00" not in row.email],
        phones=[row.phone for row in rows if "\x00" not in row.phone],
    )
    preview = ImportPreview()
    seen_emails: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    for row in rows:
        line = row.line
        row.error = ""
        try:
            check_buyer_fields(email=row.email, phone=row.phone, name=row.name, taken=taken)
        except errors.BuyerError as error:
            row.error = " ".join(refusal.message for refusal in error.each())
        if not row.error and row.email:
            earlier = seen_emails.setdefault(row.email.lower(), line)
            if earlier != line:
                row.error = f"The same e-mail as line {earlier}."
        if not row.error and row.phone:
            earlier = seen_phones.setdefault(phone_key_of(row.phone), line)
            if earlier != line:
                row.error = f"The same phone as line {earlier}."
        (preview.bad if row.error else preview.good).append(row)
    return preview
