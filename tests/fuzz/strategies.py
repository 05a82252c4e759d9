"""Hostile and plausible input for the fuzz tests: what a careless or malicious user may type.

`hostile_text()` draws one form value; `form_data(field_names)` a whole POST body (some fields
left out, some keys unexpected, some sent twice); `query_value()` one query-string value.
"""

import base64

from hypothesis import strategies as st

# Values that broke forms elsewhere: too big, wrong type, not a number, impossible dates,
# control characters, markup and SQL.
HOSTILE_CONSTANTS = [
    "",
    " ",
    "0",
    "-0",
    "-1",
    "-0.01",
    "1e30",
    "-1e30",
    "1E+400",
    "99999999999999999999999999999999",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "32768",
    "65536",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "1,5",
    "1.000,50",
    "0x10",
    "1_000",
    "١٢٣",  # Arabic-Indic digits, which int() accepts
    "12.3456789",
    "0.00001",
    "10.999",
    "true",
    "false",
    "on",
    "None",
    "null",
    "[]",
    "{}",
    '{"a": 1}',
    "2026-02-30",
    "2026-13-01",
    "9999-12-31",
    "9999-12-31 23:59:59",
    "9999-12-30",
    "9999-01-01",
    "0000-01-01",
    "0001-01-01",
    "0001-01-01 00:00",
    "1900-01-01",
    "2026-11-23T25:61",
    "31/12/2026",
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",  # right-to-left override
    "\u200f\u200e",
    "\ufeff",
    "😀🎬📺",
    "Жанна Иванова",
    "名前",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}{% debug %}",
    "'; DROP TABLE buyers_buyer; --",
    "' OR '1'='1",
    "%",
    "_",
    "\\",
    '=HYPERLINK("http://x")',
    "javascript:alert(1)",
    "http://",
    "https://exa mple.com",
    "mailto:a@b",
    "a@b",
    "user@example.com",
    "+44 20 7946 0958",
    "SAMPLE01",
    "\r\n",
    "\t",
]

# The values most likely to break something, drawn more often than the rest.
POISON = [
    "\x00",
    "a\x00b",
    "-1",
    "99999999999999999999",
    "9999-12-31",
    "NaN",
    "\u202eevil",
    "<script>alert(1)</script>",
]

# Plausible values so that some examples get past the form and reach the services.
PLAUSIBLE_CONSTANTS = [
    "9.99",
    "10",
    "1",
    "30",
    "2",
    "EUR",
    "USD",
    "JPY",
    "2026-12-31",
    "2027-01-15 10:30",
    "2030-06-01",
    "https://example.com/watch",
    "example.com",
    "buyer@example.com",
    "new.buyer@example.org",
    "+1 555 0100",
    "Ann Lee",
    "tok_approve",
    "tok_decline",
    "wallet",
    "sandbox_card",
    "month",
    "months",
    "days",
    "percent",
    "fixed",
    "subscription",
    "password",
    "collection",
    "single",
    "group",
    "video",
    "audio",
    "HD",
    "SD",
    "top_up",
    "adjustment",
    "none",
    "prorated",
    "full",
    "now",
    "period_end",
    "1234",
    "123456",
    "on",
]

base64_junk = st.one_of(
    st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    st.sampled_from(["W10", "WyJhIl0", "eyJhIjoxfQ", "WzEsMiwzXQ", "bnVsbA", "!!!", "=="]),
)

huge_text = st.builds(
    lambda unit, size: (unit * (size // len(unit) + 1))[:size],
    st.sampled_from(["a", "é", "😀", "<b>x</b>", "'; --", "9"]),
    st.sampled_from([33, 41, 65, 81, 101, 129, 256, 501, 10_000, 100_000, 1_000_000]),
)

short_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


def hostile_text():
    """One value as a form would send it: a string (the browser sends nothing else)."""
    return st.one_of(
        st.sampled_from(POISON),
        st.sampled_from(HOSTILE_CONSTANTS),
        st.sampled_from(PLAUSIBLE_CONSTANTS),
        huge_text,
        short_text,
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
        st.dates().map(str),
    )


DATE_EDGES = [
    "9999-12-31",
    "9999-12-30",
    "9999-12-01",
    "9999-01-01",
    "9999-12-31 23:59:59",
    "9999-12-31 23:59",
    "9999-12-31T23:59",
    "0001-01-01",
    "0001-01-02",
    "0001-01-01 00:00:00",
    "0000-01-01",
    "2026-02-30",
    "2025-02-29",
    "2028-02-29",
    "1970-01-01",
    "2038-01-19 03:14:08",
    "2026-11-23",
    "2027-06-30 12:00",
]
MONEY_EDGES = [
    "-1",
    "-0.01",
    "0",
    "0.001",
    "0.00001",
    "0.005",
    "9.999",
    "10.00",
    "99999999.9999",
    "9999999999.99",
    "99999999999999",
    "1e30",
    "-1e30",
    "1E-30",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1,5",
    "1 000",
    "€5",
]
INTEGER_EDGES = [
    "-1",
    "0",
    "1",
    "32767",
    "32768",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "1.5",
    "1e3",
]


def typed_values(kind: str):
    """Values aimed at one kind of field (date, money, integer), else any hostile text."""
    edges = {"date": DATE_EDGES, "money": MONEY_EDGES, "integer": INTEGER_EDGES}.get(kind)
    if edges is None:
        return hostile_text()
    extra = {
        "date": st.dates().map(str),
        "money": st.decimals(allow_nan=True, allow_infinity=True).map(str),
        "integer": st.integers(min_value=-(2**70), max_value=2**70).map(str),
    }[kind]
    return st.one_of(st.sampled_from(edges), st.sampled_from(edges), extra, hostile_text())


def field_kind(field) -> str:
    """What kind of value a Django form field reads: date, money, integer or text."""
    from django import forms

    from core.forms import DateOrDateTimeField

    if isinstance(field, (forms.DateField, forms.DateTimeField, DateOrDateTimeField)):
        return "date"
    if isinstance(field, forms.DecimalField):
        return "money"
    if isinstance(field, forms.IntegerField):
        return "integer"
    if isinstance(field, forms.MultiValueField) and field.fields:
        return field_kind(field.fields[0])
    return "text"


def field_value(choices=(), kind="text"):
    """A value for one field: aimed at its kind, or one of its real choices (codes, options)."""
    if choices:
        return st.one_of(st.sampled_from(list(choices)), typed_values(kind))
    return typed_values(kind)


UNEXPECTED_KEYS = ["id", "pk", "code", "created_by", "is_superuser", "balance", "status", "confirm"]


@st.composite
def form_data(draw, fields: dict, baseline: dict | None = None):
    """A POST body for a form with `fields` ({name: (real choices, kind)}).

    Half the examples start from `baseline` (input the form accepts) and spoil one or two
    fields, so that they get past the other fields to the rule or the database under test; the
    rest fill every field with hostile or plausible values. A field may be left out or sent
    twice; sometimes keys the form does not have are added."""
    baseline = baseline or {}
    if baseline and draw(st.booleans()):
        data = dict(baseline)
        names = sorted(fields)
        spoiled = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    else:
        data, spoiled = {}, list(fields)
    for name in spoiled:
        choices, kind = fields[name]
        how = draw(st.sampled_from(["value", "value", "value", "value", "missing", "twice"]))
        data.pop(name, None)
        if how == "missing":
            continue
        value = draw(field_value(choices, kind))
        data[name] = [value, draw(field_value(choices, kind))] if how == "twice" else value
    extra = draw(st.lists(st.sampled_from(UNEXPECTED_KEYS), max_size=2, unique=True))
    for name in extra:
        data.setdefault(name, draw(hostile_text()))
    return data


def query_value():
    """One query-string value: hostile text, bounded so the URL stays one a browser could send."""
    return st.one_of(
        st.sampled_from(POISON),
        st.sampled_from(HOSTILE_CONSTANTS),
        st.sampled_from(PLAUSIBLE_CONSTANTS),
        short_text,
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.builds(lambda unit, size: unit * size, st.sampled_from(["a", "9", "é"]), st.just(5000)),
        base64_junk,
    )


# The shop's time zone (SHOP_TIME_ZONE): the default, and zones whose offsets push a date near
# year 1 or 9999 past the range when converted to UTC (Pago Pago was +12:37 before 1892).
time_zones = st.sampled_from([None, "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
