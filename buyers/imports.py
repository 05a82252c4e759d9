"""Reading a CSV file of buyers for the bulk import: which rows are good, which are bad and why.

The same checks as `services.create_buyer`, plus duplicates within the file; the contacts buyers
already have are looked up a thousand at a time, so a file of 100,000 rows previews in seconds.
`import_buyers` writes the good rows, a chunk per call, from the background job (buyers/bulk.py).
"""

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat

from core import audit, events

from . import errors
from .models import Buyer, phone_key, phone_key_of
from .services import check_buyer_fields, normalise_email, normalise_phone

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


@dataclass(frozen=True)
class TakenContacts:
    """E-mails (lower case) and phone keys that buyers already have, among those asked about."""

    emails: frozenset[str]
    phones: frozenset[str]


TAKEN_BATCH = 1000


def taken_contacts(*, emails, phones) -> TakenContacts:
    """Which of these e-mails and phones buyers already have: a query per thousand, read from
    the unique indexes (lower(email), the phone key), instead of two queries per row."""
    emails = sorted({email.lower() for email in emails if email})
    phones = sorted({phone_key_of(phone) for phone in phones if phone})
    found_emails, found_phones = set(), set()
    for start in range(0, len(emails), TAKEN_BATCH):
        found_emails.update(
            Buyer.objects.alias(lower_email=Lower("email"))
            .filter(lower_email__in=emails[start : start + TAKEN_BATCH])
            .exclude(email="")
            .values_list(Lower("email"), flat=True)
        )
    for start in range(0, len(phones), TAKEN_BATCH):
        found_phones.update(
            # Later copies of a phone shared before phones were unique do not count.
            Buyer.objects.filter(duplicate_of__isnull=True)
            .alias(phone_key=phone_key())
            .filter(phone_key__in=phones[start : start + TAKEN_BATCH])
            .exclude(phone="")
            .values_list(phone_key(), flat=True)
        )
    return TakenContacts(frozenset(found_emails), frozenset(found_phones))


# --- Writing the rows -----------------------------------------------------------------------------


@transaction.atomic
def import_buyers(*, rows) -> list[Buyer]:
    """Create a buyer for each row (email, phone, name) in one transaction: if any row breaks a
    rule now (someone added the same e-mail since the preview), none is written. The contacts
    buyers have are read a thousand at a time (the import writes a chunk of rows per call)."""
    buyers = []
    seen, seen_phones = set(), set()
    rows = [(row, normalise_email(row.email), normalise_phone(row.phone), row.name) for row in rows]
    taken = taken_contacts(
        emails=[email for _row, email, _phone, _name in rows if "\x00" not in email],
        phones=[phone for _row, _email, phone, _name in rows if "\x00" not in phone],
    )
    for row, email, phone, name in rows:
        check_buyer_fields(email=email, phone=phone, name=name, taken=taken)
        if email:
            if email.lower() in seen:
                raise errors.EmailTaken(f"Line {row.line}: the same e-mail appears twice.")
            seen.add(email.lower())
        if phone:
            if phone_key_of(phone) in seen_phones:
                raise errors.PhoneTaken(f"Line {row.line}: the same phone appears twice.")
            seen_phones.add(phone_key_of(phone))
        buyers.append(Buyer(email=email, phone=phone, name=name))
    created = Buyer.objects.bulk_create(buyers, batch_size=1000)
    audit.record_many([audit.entry("created (import)", buyer) for buyer in created])
    events.publish_many(("buyer.created", buyer, "") for buyer in created)
    return created
