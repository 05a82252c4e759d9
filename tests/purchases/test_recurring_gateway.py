"""The reference-003 Recurring service adapter against a local HTTP server (127.0.0.1 only)."""

import logging
import socket
import time
import traceback
from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from werkzeug import Response

from purchases.gateways import GATEWAYS, get_gateway
from purchases.gateways.base import GatewayError, GatewayTimeout
from purchases.gateways.recurring003 import (
    CODES,
    NAMESPACE,
    RecurringConfigurationError,
    RecurringOutcomeUnknown,
    RecurringServiceClient,
    RecurringServiceError,
    RecurringServiceGateway,
)

PASSWORD = "s3cret&Pa<ss>word"
SERVICE = "/admin/ws/recurring.asmx"
CHARGE, LOOKUP = f"{SERVICE}/ProcessCreditCard", f"{SERVICE}/GetLastContractTrans"

# The `code` values listed by reference 003, in its order.
REFERENCE_003_CODES = [
    "OK",
    "Unknown_Error",
    "Access_Denied",
    "Invalid_Login",
    "Invalid_User_Status",
    "Invalid_User",
    "User_Not_Found",
    "Username_Already_In_Use",
    "Username_Has_Invalid_Characters",
    "Not_Enough_Privilege",
    "Invalid_PartnerID",
    "Invalid_VendorID",
    "Invalid_Argument",
    "Invalid_Record",
    "Transaction_Type_Not_Supported_By_Host",
    "Internal_Error",
    "Invalid_ProcessorID",
    "Processor_Not_Found",
    "InValidPassword",
]
DECLINES = {"Invalid_Argument", "Invalid_Record"}
UNKNOWN_OUTCOMES = {"Unknown_Error", "Internal_Error"}
CONFIGURATION = set(REFERENCE_003_CODES) - DECLINES - UNKNOWN_OUTCOMES - {"OK"}


def recurring_result(transactions=(), **fields) -> str:
    """A RecurringResult document as the HTTP POST binding answers it."""
    elements = "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in fields.items())
    if transactions:
        rows = "".join(
            "<LastContractTrans>"
            + "".join(f"<{tag}>{escape(value)}</{tag}>" for tag, value in row.items())
            + "</LastContractTrans>"
            for row in transactions
        )
        elements += f"<ContractTransactions>{rows}</ContractTransactions>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<RecurringResult xmlns="{NAMESPACE}">{elements}</RecurringResult>'
    )


def transaction(invoice="renewal-1", result_code="0", **fields):
    row = {
        "PaymentPref": "CC",
        "Contract_Key": "5501",
        "Transaction_Date": "11/23/2026",
        "Transaction_Amount": "9.90",
        "Convenience_Fee": "0.00",
        "PNRef": "26873",
        "ResultCode": result_code,
        "ResponseMessage": "APPROVED" if result_code == "0" else "DECLINED",
        "AuthCode": "TAS351" if result_code == "0" else "",
    }
    if invoice is not None:
        row["InvNum"] = invoice
    return row | fields


NOTHING_FOUND = recurring_result(code="OK", error="OK")


def answer(httpserver, path, body, status=200, content_type="text/xml; charset=utf-8"):
    httpserver.expect_request(path, method="POST").respond_with_data(
        body, status=status, content_type=content_type
    )


def posted(httpserver, path):
    """The form fields of each request the service received at `path`."""
    return [request.form.to_dict() for request, _ in httpserver.log if request.path == path]


@pytest.fixture
def client(httpserver):
    return RecurringServiceClient(
        base_url=httpserver.url_for(SERVICE),
        username="shop-api",
        password=PASSWORD,
        vendor="42",
        timeout=2,
    )


@pytest.fixture
def gateway(client):
    return RecurringServiceGateway(client=client, currency="USD")


def charge(gateway, key="renewal-1", amount="9.9", instrument="26674"):
    return gateway.charge(
        idempotency_key=key, amount=Decimal(amount), currency="USD", instrument=instrument
    )


def test_an_approved_charge_answers_result_zero_with_pnref_and_auth_code(httpserver, gateway):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(
        httpserver,
        CHARGE,
        recurring_result(
            code="OK", error="APPROVED", Result="0", AuthCode="TAS351", PNRef="26873", Message="M"
        ),
    )
    result = charge(gateway)
    assert result.approved
    assert (result.result_code, result.response_message) == ("0", "APPROVED")
    assert (result.pnref, result.auth_code) == ("26873", "TAS351")
    assert posted(httpserver, CHARGE) == [
        {
            "Username": "shop-api",
            "Password": PASSWORD,
            "Vendor": "42",
            "CcInfoKey": "26674",
            "Amount": "9.90",
            "InvNum": "renewal-1",
            "ExtData": "",
        }
    ]
    assert posted(httpserver, LOOKUP)[0]["InvNum"] == "renewal-1"


def test_a_declined_charge_answers_the_services_result_code_and_message(httpserver, gateway):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(
        httpserver,
        CHARGE,
        recurring_result(code="OK", error="DECLINED", Result="12", PNRef="26874", AuthCode="X"),
    )
    result = charge(gateway)
    assert not result.approved and result.status == "declined"
    assert (result.result_code, result.response_message, result.pnref) == (
        "12",
        "DECLINED",
        "26874",
    )
    assert result.auth_code == ""


def test_every_code_of_reference_003_has_an_outcome():
    assert set(CODES) == set(REFERENCE_003_CODES)
    assert {code for code, (kind, _) in CODES.items() if kind == "declined"} == DECLINES
    assert {code for code, (kind, _) in CODES.items() if kind == "unknown"} == UNKNOWN_OUTCOMES


@pytest.mark.parametrize("code", sorted(DECLINES))
def test_codes_about_the_payment_decline_it(httpserver, gateway, code):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(httpserver, CHARGE, recurring_result(code=code, error=f"{code} text"))
    result = charge(gateway)
    assert result.status == "declined"
    assert result.result_code == {"Invalid_Record": "RECORD", "Invalid_Argument": "ARGUMENT"}[code]
    assert result.response_message == f"{code}: {code} text"


@pytest.mark.parametrize("code", sorted(CONFIGURATION))
def test_codes_about_our_account_are_configuration_errors_not_declines(httpserver, gateway, code):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(httpserver, CHARGE, recurring_result(code=code, error="refused"))
    with pytest.raises(RecurringConfigurationError) as raised:
        charge(gateway)
    assert raised.value.code == code
    assert code in str(raised.value) and "RECURRING_GATEWAY_" in str(raised.value)
    assert not isinstance(raised.value, GatewayTimeout)


@pytest.mark.parametrize("code", sorted(UNKNOWN_OUTCOMES))
def test_service_failures_leave_the_outcome_unknown_for_lookup(httpserver, gateway, code):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(httpserver, CHARGE, recurring_result(code=code))
    with pytest.raises(GatewayTimeout) as raised:
        charge(gateway)
    assert isinstance(raised.value, RecurringOutcomeUnknown) and raised.value.code == code


@pytest.mark.parametrize("code", sorted(CONFIGURATION))
def test_a_lookup_refused_for_our_account_is_a_configuration_error(httpserver, gateway, code):
    answer(httpserver, LOOKUP, recurring_result(code=code))
    with pytest.raises(RecurringConfigurationError):
        gateway.lookup(idempotency_key="renewal-1")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('<?xml version="1.0"?><RecurringResult xmlns="x"><code>OK</code>', "well-formed"),
        ("<html><body><h1>Service Unavailable</h1></body></html>", "not a RecurringResult"),
        ("Server busy, try later", "well-formed"),
        ("", "well-formed"),
        (f'<RecurringResult xmlns="{NAMESPACE}"><error>x</error></RecurringResult>', "no code"),
        (recurring_result(code="Brand_New_Code"), "unknown code"),
        (recurring_result(code="OK", error="APPROVED"), "without a Result"),
    ],
    ids=["truncated", "html", "text", "empty", "no-code", "unknown-code", "ok-without-result"],
)
def test_unreadable_answers_are_gateway_errors_with_an_unknown_outcome(
    httpserver, gateway, body, says
):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(httpserver, CHARGE, body)
    with pytest.raises(GatewayError) as raised:
        charge(gateway)
    assert isinstance(raised.value, RecurringOutcomeUnknown)
    assert says in str(raised.value) and "ProcessCreditCard" in str(raised.value)


def test_http_500_is_an_unknown_outcome_and_http_404_a_refusal(httpserver, gateway):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(httpserver, CHARGE, "<html>Server Error</html>", status=500, content_type="text/html")
    with pytest.raises(RecurringOutcomeUnknown, match="HTTP 500"):
        charge(gateway)
    httpserver.clear_all_handlers()
    answer(httpserver, LOOKUP, "Not found", status=404, content_type="text/plain")
    with pytest.raises(RecurringServiceError, match="HTTP 404") as raised:
        charge(gateway)
    assert not isinstance(raised.value, GatewayTimeout)


def test_a_service_slower_than_the_timeout_raises_gateway_timeout(httpserver):
    def slow(request):
        time.sleep(0.6)
        return Response(NOTHING_FOUND, content_type="text/xml")

    httpserver.expect_request(LOOKUP, method="POST").respond_with_handler(slow)
    client = RecurringServiceClient(
        base_url=httpserver.url_for(SERVICE),
        username="u",
        password=PASSWORD,
        vendor="42",
        timeout=0.2,
    )
    started = time.monotonic()
    with pytest.raises(GatewayTimeout, match="within 0.2 s"):
        RecurringServiceGateway(client=client, currency="USD").lookup(idempotency_key="k")
    assert time.monotonic() - started < 0.55


def test_an_unreachable_service_is_a_gateway_error_nothing_was_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RecurringServiceClient(
        base_url=f"http://127.0.0.1:{port}{SERVICE}", username="u", password=PASSWORD, vendor="1"
    )
    with pytest.raises(RecurringServiceError, match="could not be reached") as raised:
        client.call("GetLastContractTrans", InvNum="k")
    assert not isinstance(raised.value, GatewayTimeout)


def test_lookup_finds_the_transaction_sent_with_our_key(httpserver, gateway):
    answer(
        httpserver,
        LOOKUP,
        recurring_result(
            code="OK",
            transactions=[
                transaction(invoice="renewal-0", PNRef="100"),
                transaction(invoice="renewal-1", PNRef="101", AuthCode="A1"),
                transaction(invoice="renewal-2", result_code="12", PNRef="102"),
            ],
        ),
    )
    found = gateway.lookup(idempotency_key="renewal-1")
    assert found.approved
    assert (found.pnref, found.auth_code, found.result_code) == ("101", "A1", "0")
    declined = gateway.lookup(idempotency_key="renewal-2")
    assert declined.status == "declined" and declined.result_code == "12"
    assert gateway.lookup(idempotency_key="renewal-9") is None


def test_lookup_of_a_key_the_service_never_saw_answers_none(httpserver, gateway):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    assert gateway.lookup(idempotency_key="never-used") is None


def test_lookup_refuses_to_guess_when_transactions_do_not_echo_our_reference(httpserver, gateway):
    answer(httpserver, LOOKUP, recurring_result(code="OK", transactions=[transaction(None)]))
    with pytest.raises(GatewayTimeout, match="cannot be told"):
        gateway.lookup(idempotency_key="renewal-1")


def test_charging_a_key_the_service_already_knows_answers_it_without_charging_again(
    httpserver, gateway
):
    answer(httpserver, LOOKUP, recurring_result(code="OK", transactions=[transaction()]))
    answer(httpserver, CHARGE, recurring_result(code="OK", Result="0", PNRef="other"))
    first, again = charge(gateway), charge(gateway)
    assert first == again and first.pnref == "26873" and first.approved
    assert posted(httpserver, CHARGE) == []


def test_a_refund_returns_the_amount_of_the_original_pnref_once_per_key(httpserver, gateway):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(
        httpserver,
        CHARGE,
        recurring_result(code="OK", error="APPROVED", Result="0", PNRef="27000", AuthCode="R1"),
    )
    result = gateway.refund(
        idempotency_key="refund-1", pnref="26873", amount=Decimal("4"), currency="USD"
    )
    assert result.approved and result.pnref == "27000"
    form = posted(httpserver, CHARGE)[0]
    assert (form["TransType"], form["PNRef"], form["Amount"], form["InvNum"]) == (
        "Return",
        "26873",
        "4.00",
        "refund-1",
    )


def test_a_refund_of_an_unknown_pnref_is_declined(httpserver, gateway):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(httpserver, CHARGE, recurring_result(code="Invalid_Record", error="No such PNRef"))
    result = gateway.refund(idempotency_key="r", pnref="1", amount=Decimal("1"), currency="USD")
    assert result.status == "declined" and result.result_code == "RECORD"
    assert result.response_message == "Invalid_Record: No such PNRef"


def test_results_fit_the_columns_that_store_them(httpserver, gateway):
    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(
        httpserver,
        CHARGE,
        recurring_result(
            code="OK", error="A" * 300, Result="0", AuthCode="AUTH NUM 674-564", PNRef="26945"
        ),
    )
    result = charge(gateway)
    assert result.approved and result.pnref == "26945"
    assert (len(result.response_message), result.auth_code) == (200, "AUTH NUM 674")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<RecurringResult xmlns="http://www.tpisoft.com/Admin/ws"><code>OK</code>
<error>&lol3;</error></RecurringResult>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<RecurringResult xmlns="http://www.tpisoft.com/Admin/ws"><code>OK</code>
<error>&xxe;</error><Result>0</Result></RecurringResult>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "xxe"])
def test_entity_payloads_are_refused_by_defusedxml(httpserver, gateway, body):
    answer(httpserver, LOOKUP, body)
    with pytest.raises(RecurringOutcomeUnknown, match="unsafe XML") as raised:
        gateway.lookup(idempotency_key="renewal-1")
    assert "root:" not in str(raised.value) and "lol" not in str(raised.value)


def _failing_answers(httpserver):
    yield (
        "echoed login",
        lambda: answer(
            httpserver, LOOKUP, recurring_result(code="Invalid_Login", error=f"bad {PASSWORD}")
        ),
    )
    yield "http 500", lambda: answer(httpserver, LOOKUP, f"oops {PASSWORD}", status=500)
    yield "not xml", lambda: answer(httpserver, LOOKUP, f"<<{PASSWORD}")
    yield "unknown code", lambda: answer(httpserver, LOOKUP, recurring_result(code=PASSWORD))


def test_the_password_never_appears_in_exceptions_logs_or_reprs(httpserver, gateway, caplog):
    caplog.set_level(logging.DEBUG)
    seen = []
    for label, serve in _failing_answers(httpserver):
        httpserver.clear_all_handlers()
        serve()
        with pytest.raises(GatewayError) as raised:
            charge(gateway)
        failure = raised.value
        seen.append(label)
        text = str(failure) + repr(failure) + "".join(traceback.format_exception(failure))
        assert PASSWORD not in text, label
    # The password did travel, in the request body only.
    assert all(form["Password"] == PASSWORD for form in posted(httpserver, LOOKUP))
    assert len(seen) == 4 and caplog.records
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(gateway.client) and "***" in repr(gateway.client)


def test_a_currency_other_than_the_merchant_accounts_is_refused_before_any_call(
    httpserver, gateway
):
    with pytest.raises(RecurringConfigurationError, match="settles in USD"):
        gateway.charge(idempotency_key="k", amount=Decimal(1), currency="EUR", instrument="1")
    assert httpserver.log == []


def test_a_non_http_url_is_a_configuration_error():
    with pytest.raises(RecurringConfigurationError, match="http"):
        RecurringServiceClient(
            base_url="file:///etc/passwd", username="u", password="p", vendor="1"
        )


def test_the_gateway_is_offered_only_when_listed_and_configured(httpserver, settings):
    settings.PAYMENT_GATEWAYS = ["sandbox_card", "recurring003"]
    for name in ("URL", "USERNAME", "PASSWORD", "VENDOR"):
        setattr(settings, f"RECURRING_GATEWAY_{name}", "")
    assert isinstance(GATEWAYS["recurring003"], RecurringServiceGateway)
    assert get_gateway("recurring003") is None
    assert get_gateway("sandbox_card") is not None

    settings.RECURRING_GATEWAY_URL = httpserver.url_for(SERVICE)
    settings.RECURRING_GATEWAY_USERNAME = "shop-api"
    settings.RECURRING_GATEWAY_PASSWORD = PASSWORD
    settings.RECURRING_GATEWAY_VENDOR = "42"
    settings.RECURRING_GATEWAY_TIMEOUT = 5
    settings.RECURRING_GATEWAY_CURRENCY = "EUR"
    recurring = get_gateway("recurring003")
    assert recurring.label == "Card (Recurring service)" and not recurring.is_redirect

    answer(httpserver, LOOKUP, NOTHING_FOUND)
    answer(httpserver, CHARGE, recurring_result(code="OK", Result="0", PNRef="1"))
    result = recurring.charge(
        idempotency_key="k", amount=Decimal("5"), currency="EUR", instrument="77"
    )
    assert result.approved
    assert posted(httpserver, CHARGE)[0]["Vendor"] == "42"

    settings.PAYMENT_GATEWAYS = ["sandbox_card"]
    assert get_gateway("recurring003") is None
