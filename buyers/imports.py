"""Reading a CSV file of buyers for the bulk import: which rows are good, which are bad and why.

The same checks as `services.create_buyer`, plus duplicates within the file. Nothing is written
here; `services.import_buyers` writes the good rows in one transaction.
"""

import csv
import io
from dataclasses import dataclass, field

from django.template.defaultfilters import filesizeformat

from . import errors
from .models import phone_key_of
from .services import check_buyer_fields, normalise_email, normalise_phone

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 10_000
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
    preview = ImportPreview()
    seen_emails: dict[str, int] = {}
    seen_phones: dict[str, int] = {}
    try:
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(preview.good) + len(preview.bad) >= MAX_IMPORT_ROWS:
                raise errors.ImportFileInvalid(
                    f"The file has more than {MAX_IMPORT_ROWS:,} rows: split it."
                )
            row = ImportRow(line=line)
            for column, value in zip(columns, values, strict=False):
                if column:
                    setattr(row, column, value)
            row.email, row.phone = normalise_email(row.email), normalise_phone(row.phone)
            row.name = row.name.strip()
            try:
                check_buyer_fields(email=row.email, phone=row.phone, name=row.name)
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
    except csv.Error as error:
        raise errors.ImportFileInvalid(f"Line {reader.line_num} cannot be read: {error}.") from None
    return preview
