"""The reference-003 "Recurring" web service (recurring.asmx) as a stored-card payment gateway.

Spoken over the service's documented HTTP POST binding: form fields posted to
`<RECURRING_GATEWAY_URL>/<Operation>`, a `RecurringResult` XML document back (namespace
http://www.tpisoft.com/Admin/ws), parsed with defusedxml (no DTDs, no entities).

Reference 003 documents the binding, the `RecurringResult` fields and the `code` values. The
operations and fields used here come from the provider's public description of the same service
and are kept as class constants so a differing installation is a one-line change:

- charge: `ProcessCreditCard` (Username, Password, Vendor, CcInfoKey, Amount, InvNum, ExtData);
  the instrument is the stored card's CcInfoKey, the amount is sent as DDDD.CC.
- refund: `ProcessCreditCard` with TransType=Return and the original PNRef.
- lookup: `GetLastContractTrans` with InvNum, answering ContractTransactions/LastContractTrans.

Idempotency: the service has none of its own, so our idempotency key travels as `InvNum` (the
merchant's invoice number) and `charge`/`refund` first ask `lookup` whether the key was already
used; a key found there is answered from the service, never sent again. A transaction is ours
only when it echoes our InvNum (an element beside reference 003's LastContractTrans fields, to
confirm with the provider); an answer listing transactions without any InvNum cannot tell,
so `lookup` raises RecurringOutcomeUnknown rather than answer "never charged" (which would let
the caller charge twice).

How each `code` of reference 003 becomes our result:

| code                                    | our result                                          |
|-----------------------------------------|-----------------------------------------------------|
| OK                                      | Result "0": approved; any other Result: declined    |
|                                         | with that Result as result_code                     |
| Invalid_Record                          | declined, result_code "RECORD": the stored card or  |
|                                         | original PNRef is not on file (the buyer must give  |
|                                         | a new payment method)                               |
| Invalid_Argument                        | declined, result_code "ARGUMENT": the service       |
|                                         | refused this payment's data (amount or stored-card  |
|                                         | key); a retry will not help                         |
| Access_Denied, Invalid_Login,           | RecurringConfigurationError (a GatewayError): our   |
| InValidPassword, Invalid_User_Status,   | account with the provider is wrong; not the buyer's |
| Invalid_User, User_Not_Found,           | fault, staff must fix the RECURRING_GATEWAY_*       |
| Username_Already_In_Use,                | settings or the account at the provider             |
| Username_Has_Invalid_Characters,        |                                                     |
| Not_Enough_Privilege, Invalid_PartnerID,|                                                     |
| Invalid_VendorID, Invalid_ProcessorID,  |                                                     |
| Processor_Not_Found,                    |                                                     |
| Transaction_Type_Not_Supported_By_Host  |                                                     |
| Unknown_Error, Internal_Error           | RecurringOutcomeUnknown (a GatewayTimeout): the     |
|                                         | service failed mid-call; ask `lookup` before retry  |
| missing or any other code               | RecurringOutcomeUnknown: unreadable answer          |

Transport: no connection (refused, unknown host) and HTTP 4xx are RecurringServiceError (the
call was not processed); a timeout, a dropped connection, HTTP 5xx, or a body that is not a
readable `RecurringResult` (malformed, not XML, a DTD or entity) are RecurringOutcomeUnknown,
since the service may have charged before failing.

Results fit the columns that store them: result_code at most 8 characters (declines by code use
the short names above, the service's code leads the message), auth code 12, message 200.

The password is sent only in the request body: it is never logged, never in an exception's
message, and hidden from the client's repr.
"""

import http.client
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape as xml_escape

import defusedxml.ElementTree as safe_etree
from defusedxml import DefusedXmlException
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .base import (
    APPROVED,
    APPROVED_STATUS,
    DECLINED_STATUS,
    GatewayError,
    GatewayResult,
    GatewayTimeout,
    PaymentGateway,
)

logger = logging.getLogger(__name__)

NAMESPACE = "http://www.tpisoft.com/Admin/ws"
MAX_ANSWER_BYTES = 1024 * 1024  # far above any RecurringResult; refuses a runaway body

# Our result_code for the codes that decline (the ResultCode columns hold 8 characters); the
# service's code itself leads the response message.
DECLINE_RESULT_CODES = {"Invalid_Record": "RECORD", "Invalid_Argument": "ARGUMENT"}
# Column sizes of Purchase and ContractTransaction, which store these results.
RESULT_CODE_CHARS, AUTH_CODE_CHARS, MESSAGE_CHARS = 8, 12, 200

# code -> (kind, what it means): kind is ok, declined, configuration or unknown.
CODES: dict[str, tuple[str, str]] = {
    "OK": ("ok", "Success"),
    "Unknown_Error": ("unknown", "The service reported an unknown error"),
    "Access_Denied": ("configuration", "Access denied to the configured account"),
    "Invalid_Login": ("configuration", "The configured user name or password is wrong"),
    "Invalid_User_Status": ("configuration", "The configured user is not active"),
    "Invalid_User": ("configuration", "The configured user is not valid"),
    "User_Not_Found": ("configuration", "The configured user does not exist"),
    "Username_Already_In_Use": ("configuration", "The user name is already in use"),
    "Username_Has_Invalid_Characters": (
        "configuration",
        "The configured user name has invalid characters",
    ),
    "Not_Enough_Privilege": (
        "configuration",
        "The configured user may not use this operation",
    ),
    "Invalid_PartnerID": ("configuration", "The account's partner is not valid"),
    "Invalid_VendorID": ("configuration", "The configured vendor (merchant key) is not valid"),
    "Invalid_Argument": ("declined", "The service refused this payment's data"),
    "Invalid_Record": ("declined", "The stored payment method or transaction is not on file"),
    "Transaction_Type_Not_Supported_By_Host": (
        "configuration",
        "The merchant's processor does not support this transaction type",
    ),
    "Internal_Error": ("unknown", "The service failed internally"),
    "Invalid_ProcessorID": ("configuration", "The merchant's processor is not valid"),
    "Processor_Not_Found": ("configuration", "The merchant's processor was not found"),
    "InValidPassword": ("configuration", "The configured password is not valid"),
}


class RecurringServiceError(GatewayError):
    """The Recurring service refused or could not take the call; nothing was charged."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class RecurringConfigurationError(RecurringServiceError):
    """Our account with the provider (URL, user, password, vendor) is wrong: staff must fix it."""


class RecurringOutcomeUnknown(GatewayTimeout):
    """The call may have been carried out but no readable answer came back: ask `lookup`."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ContractInfo:
    contract_key: str
    next_bill_date: str


@dataclass(frozen=True)
class LastContractTrans:
    payment_pref: str
    contract_key: str
    transaction_date: str
    transaction_amount: str
    convenience_fee: str
    pnref: str
    result_code: str
    response_message: str
    auth_code: str
    invoice_number: str | None  # our InvNum echoed back, None when the service sent none


@dataclass(frozen=True)
class RecurringResult:
    """A `RecurringResult` document, fields named as in reference 003 in snake_case."""

    code: str
    error: str = ""
    result: str = ""
    auth_code: str = ""
    pnref: str = ""
    message: str = ""
    client_session_id: str = ""
    customer_id: str = ""
    customer_key: str = ""
    contract_key: str = ""
    cc_info_key: str = ""
    contracts: list[ContractInfo] = field(default_factory=list)
    transactions: list[LastContractTrans] = field(default_factory=list)


def parse_recurring_result(body: bytes, *, operation: str = "") -> RecurringResult:
    """The `RecurringResult` in `body`; RecurringOutcomeUnknown when it is not one."""
    where = f" to {operation}" if operation else ""
    try:
        root = safe_etree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as refused:
        raise RecurringOutcomeUnknown(
            f"The Recurring service's answer{where} was refused as unsafe XML "
            f"({type(refused).__name__}); the outcome is unknown."
        ) from None
    except (ParseError, ValueError) as broken:
        raise RecurringOutcomeUnknown(
            f"The Recurring service's answer{where} is not well-formed XML ({broken}); "
            "the outcome is unknown."
        ) from None
    if root.tag != f"{{{NAMESPACE}}}RecurringResult":
        raise RecurringOutcomeUnknown(
            f"The Recurring service's answer{where} is not a RecurringResult "
            f"(root element {_local_name(root.tag)!r}); the outcome is unknown."
        )
    code = _text(root, "code")
    if not code:
        raise RecurringOutcomeUnknown(
            f"The Recurring service's answer{where} has no code; the outcome is unknown."
        )
    return RecurringResult(
        code=code,
        error=_text(root, "error"),
        result=_text(root, "Result"),
        auth_code=_text(root, "AuthCode"),
        pnref=_text(root, "PNRef"),
        message=_text(root, "Message"),
        client_session_id=_text(root, "ClientSessionID"),
        customer_id=_text(root, "CustomerID"),
        customer_key=_text(root, "CustomerKey"),
        contract_key=_text(root, "ContractKey"),
        cc_info_key=_text(root, "CcInfoKey"),
        contracts=[
            ContractInfo(_text(info, "Contract_Key"), _text(info, "Next_Bill_Date"))
            for info in root.iterfind("ws:Contracts/ws:ContractInfo", {"ws": NAMESPACE})
        ],
        transactions=[
            LastContractTrans(
                payment_pref=_text(trans, "PaymentPref"),
                contract_key=_text(trans, "Contract_Key"),
                transaction_date=_text(trans, "Transaction_Date"),
                transaction_amount=_text(trans, "Transaction_Amount"),
                convenience_fee=_text(trans, "Convenience_Fee"),
                pnref=_text(trans, "PNRef"),
                result_code=_text(trans, "ResultCode"),
                response_message=_text(trans, "ResponseMessage"),
                auth_code=_text(trans, "AuthCode"),
                invoice_number=_text(trans, "InvNum", missing=None),
            )
            for trans in root.iterfind(
                "ws:ContractTransactions/ws:LastContractTrans", {"ws": NAMESPACE}
            )
        ],
    )


class RecurringServiceClient:
    """Posts form fields to one operation of recurring.asmx and reads its `RecurringResult`."""

    def __init__(self, *, base_url: str, username: str, password: str, vendor: str, timeout=30.0):
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in ("http", "https"):
            raise RecurringConfigurationError(
                f"RECURRING_GATEWAY_URL must be an http(s) URL, not {scheme or 'a bare path'!r}."
            )
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.vendor = vendor
        self.timeout = float(timeout)
        self.__password = password

    def __repr__(self) -> str:
        return (
            f"<RecurringServiceClient {self.base_url} user={self.username!r} "
            f"vendor={self.vendor!r} password=***>"
        )

    def call(self, operation: str, **fields: str) -> RecurringResult:
        """The service's answer to `operation`; transport failures raise as the module says."""
        form = {
            "Username": self.username,
            "Password": self.__password,
            "Vendor": self.vendor,
            **fields,
        }
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            f"{self.base_url}/{operation}",
            data=urllib.parse.urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        body = self._hide_password(self._post(request, operation))
        answer = parse_recurring_result(body, operation=operation)
        logger.info(
            "Recurring service %s answered code=%s result=%s pnref=%s",
            operation,
            answer.code,
            answer.result,
            answer.pnref,
        )
        return answer

    def _post(self, request: urllib.request.Request, operation: str) -> bytes:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as refused:
            refused.close()
            logger.warning("Recurring service %s answered HTTP %s", operation, refused.code)
            if refused.code >= 500:
                raise RecurringOutcomeUnknown(
                    f"The Recurring service answered HTTP {refused.code} to {operation}; "
                    "the outcome is unknown."
                ) from None
            raise RecurringServiceError(
                f"The Recurring service refused {operation} with HTTP {refused.code}."
            ) from None
        except urllib.error.URLError as unreachable:
            if isinstance(unreachable.reason, TimeoutError):
                raise self._timeout(operation) from None
            logger.warning("Recurring service unreachable for %s: %s", operation, unreachable)
            raise RecurringServiceError(
                f"The Recurring service could not be reached for {operation} "
                f"({unreachable.reason})."
            ) from None
        except TimeoutError:
            raise self._timeout(operation) from None
        except (http.client.HTTPException, OSError) as dropped:
            logger.warning("Recurring service %s dropped: %s", operation, type(dropped).__name__)
            raise RecurringOutcomeUnknown(
                f"The connection to the Recurring service dropped during {operation} "
                f"({type(dropped).__name__}); the outcome is unknown."
            ) from None
        if len(body) > MAX_ANSWER_BYTES:
            raise RecurringOutcomeUnknown(
                f"The Recurring service's answer to {operation} is larger than "
                f"{MAX_ANSWER_BYTES} bytes; the outcome is unknown."
            )
        return body

    def _hide_password(self, body: bytes) -> bytes:
        """The answer without the password, should the service ever echo it (its `error` text
        ends up in exception messages)."""
        if not self.__password:
            return body
        for form in {
            self.__password,
            urllib.parse.quote_plus(self.__password),
            xml_escape(self.__password),
        }:
            body = body.replace(form.encode(), b"***")
        return body

    def _timeout(self, operation: str) -> RecurringOutcomeUnknown:
        logger.warning("Recurring service %s timed out after %ss", operation, self.timeout)
        return RecurringOutcomeUnknown(
            f"The Recurring service did not answer {operation} within {self.timeout:g} s; "
            "the outcome is unknown."
        )


class RecurringServiceGateway(PaymentGateway):
    """Charges stored cards (CcInfoKey) through the Recurring service; see the module docstring.

    Configured by the RECURRING_GATEWAY_* settings, read at each call; `client` may be given
    instead (tests). Offered only when listed in PAYMENT_GATEWAYS and `is_configured`.
    """

    name = "recurring003"
    label = _("Card (Recurring service)")
    is_redirect = False
    supports_recurring = True

    CHARGE_OPERATION = "ProcessCreditCard"
    REFUND_OPERATION = "ProcessCreditCard"
    LOOKUP_OPERATION = "GetLastContractTrans"
    # The service has no currency field: the merchant account settles in one currency.
    REQUIRED_SETTINGS = (
        "RECURRING_GATEWAY_URL",
        "RECURRING_GATEWAY_USERNAME",
        "RECURRING_GATEWAY_PASSWORD",
        "RECURRING_GATEWAY_VENDOR",
    )

    def __init__(self, client: RecurringServiceClient | None = None, currency: str | None = None):
        self._client = client
        self._currency = currency

    @property
    def is_configured(self) -> bool:
        return self._client is not None or all(
            getattr(settings, name) for name in self.REQUIRED_SETTINGS
        )

    @property
    def client(self) -> RecurringServiceClient:
        if self._client is not None:
            return self._client
        if not self.is_configured:
            raise RecurringConfigurationError(
                "The Recurring service is not configured: set " + ", ".join(self.REQUIRED_SETTINGS)
            )
        return RecurringServiceClient(
            base_url=settings.RECURRING_GATEWAY_URL,
            username=settings.RECURRING_GATEWAY_USERNAME,
            password=settings.RECURRING_GATEWAY_PASSWORD,
            vendor=settings.RECURRING_GATEWAY_VENDOR,
            timeout=settings.RECURRING_GATEWAY_TIMEOUT,
        )

    @property
    def currency(self) -> str:
        return self._currency or settings.RECURRING_GATEWAY_CURRENCY

    def charge(self, *, idempotency_key, amount, currency, instrument, description=""):
        """Charges the stored card once per key: a key the service already knows is answered
        from its record, never sent again."""
        self._check_currency(currency)
        if not str(instrument).strip():
            return _result(DECLINED_STATUS, "RECORD", "Invalid_Record: no stored card to charge")
        client = self.client
        known = self._find(client, idempotency_key)
        if known is not None:
            return known
        answer = client.call(
            self.CHARGE_OPERATION,
            CcInfoKey=str(instrument),
            Amount=_format_amount(amount),
            InvNum=idempotency_key,
            ExtData="",
        )
        return _payment_result(answer, self.CHARGE_OPERATION)

    def refund(self, *, idempotency_key, pnref, amount, currency):
        """Returns `amount` of the transaction `pnref` once per key."""
        self._check_currency(currency)
        client = self.client
        known = self._find(client, idempotency_key)
        if known is not None:
            return known
        answer = client.call(
            self.REFUND_OPERATION,
            TransType="Return",
            PNRef=str(pnref),
            Amount=_format_amount(amount),
            InvNum=idempotency_key,
            ExtData="",
        )
        return _payment_result(answer, self.REFUND_OPERATION)

    def lookup(self, *, idempotency_key):
        """The service's record of the transaction sent with this key, or None if it has none."""
        return self._find(self.client, idempotency_key)

    def _find(self, client: RecurringServiceClient, idempotency_key: str) -> GatewayResult | None:
        answer = client.call(self.LOOKUP_OPERATION, InvNum=idempotency_key, ExtData="")
        kind, meaning = _kind_of(answer, self.LOOKUP_OPERATION)
        if kind != "ok":
            # Nothing to decline in a question: any refusal means we could not ask.
            raise RecurringServiceError(
                f"The Recurring service refused {self.LOOKUP_OPERATION}: "
                f"{answer.code} ({answer.error or meaning}).",
                code=answer.code,
            )
        if answer.transactions and all(t.invoice_number is None for t in answer.transactions):
            raise RecurringOutcomeUnknown(
                f"The Recurring service listed transactions without their InvNum, so whether "
                f"{idempotency_key!r} was used cannot be told; check the provider's back office."
            )
        for trans in answer.transactions:
            if trans.invoice_number == idempotency_key:
                approved = trans.result_code == APPROVED
                return _result(
                    APPROVED_STATUS if approved else DECLINED_STATUS,
                    trans.result_code,
                    trans.response_message,
                    pnref=trans.pnref,
                    auth_code=trans.auth_code if approved else "",
                )
        return None

    def _check_currency(self, currency: str) -> None:
        if currency != self.currency:
            raise RecurringConfigurationError(
                f"The Recurring service's merchant account settles in {self.currency}, "
                f"not {currency}."
            )


def _payment_result(answer: RecurringResult, operation: str) -> GatewayResult:
    """Our result for the answer to a charge or refund, by the table in the module docstring."""
    kind, meaning = _kind_of(answer, operation)
    if kind == "declined":
        return _result(
            DECLINED_STATUS,
            DECLINE_RESULT_CODES[answer.code],
            f"{answer.code}: {answer.error or meaning}",
        )
    if not answer.result:
        raise RecurringOutcomeUnknown(
            f"The Recurring service answered OK to {operation} without a Result; "
            "the outcome is unknown."
        )
    approved = answer.result == APPROVED
    return _result(
        APPROVED_STATUS if approved else DECLINED_STATUS,
        answer.result,
        answer.error or answer.message or ("Approved" if approved else "Declined"),
        pnref=answer.pnref,
        auth_code=answer.auth_code if approved else "",
    )


def _kind_of(answer: RecurringResult, operation: str) -> tuple[str, str]:
    """(kind, meaning) of the answer's code; raises for the kinds that are not results."""
    if answer.code not in CODES:
        raise RecurringOutcomeUnknown(
            f"The Recurring service answered {operation} with an unknown code "
            f"{answer.code!r}; the outcome is unknown.",
            code=answer.code,
        )
    kind, meaning = CODES[answer.code]
    detail = f"{answer.code}: {meaning}" + (f" ({answer.error})" if answer.error else "")
    if kind == "configuration":
        logger.error("Recurring service configuration refused %s: %s", operation, answer.code)
        raise RecurringConfigurationError(
            f"The Recurring service refused {operation}, check RECURRING_GATEWAY_* settings "
            f"and the account at the provider. {detail}.",
            code=answer.code,
        )
    if kind == "unknown":
        raise RecurringOutcomeUnknown(
            f"The Recurring service failed during {operation}; the outcome is unknown. {detail}.",
            code=answer.code,
        )
    return kind, meaning


def _result(status, result_code, message, pnref="", auth_code="") -> GatewayResult:
    """A GatewayResult that fits the columns it is stored in (longer service texts are cut)."""
    return GatewayResult(
        status,
        result_code[:RESULT_CODE_CHARS],
        message[:MESSAGE_CHARS],
        pnref=pnref,  # never cut: a refund needs it whole
        auth_code=auth_code[:AUTH_CODE_CHARS],
    )


def _format_amount(amount) -> str:
    """DDDD.CC, as the service expects."""
    return str(Decimal(amount).quantize(Decimal("0.01")))


def _text(parent: Element, tag: str, missing: str | None = "") -> str | None:
    child = parent.find(f"{{{NAMESPACE}}}{tag}")
    if child is None:
        return missing
    return (child.text or "").strip()


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
