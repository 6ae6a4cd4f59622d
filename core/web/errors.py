"""Domain errors as people read them.

Services raise core.errors.DomainError with a stable `code` and an English `detail` (the API
gives both). Pages show the code beside the field with a message in the person's language:
the text below for the code, and, when the page is not in English, the service's own detail
underneath (it names the specifics: which network, which limit).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, ErrorCode

CODE_TEXT = {
    ErrorCode.INVALID: _("Check this value."),
    ErrorCode.INVALID_ADDRESS: _("This is not a valid Bitcoin address."),
    ErrorCode.WRONG_NETWORK: _("This address or key belongs to another Bitcoin network."),
    ErrorCode.INVALID_TXID: _("A transaction id is 64 hexadecimal characters (0-9, a-f)."),
    ErrorCode.INVALID_AMOUNT: _("Enter a positive amount with at most 8 decimal places, "
                                "not more than 21 million BTC."),
    ErrorCode.PRIVATE_KEY_REFUSED: _("This looks like a private key or seed phrase. Qazyna "
                                     "never accepts private keys: keep it offline."),
    ErrorCode.INVALID_DESCRIPTOR: _("This is not a valid wallet descriptor."),
    ErrorCode.FILE_TOO_LARGE: _("The file is larger than the limit."),
    ErrorCode.FILE_TYPE_NOT_ALLOWED: _("Files of this type are not accepted as evidence: "
                                       "use PDF, JPEG, PNG, plain text or JSON."),
    ErrorCode.DUPLICATE: _("This is already recorded."),
    ErrorCode.FORBIDDEN: _("Your role does not allow this."),
    ErrorCode.OWN_CASE: _("You filed this case: another legal officer must decide it."),
    ErrorCode.SECOND_FACTOR_REQUIRED: _("Enter the current code from your authenticator app."),
    ErrorCode.SECOND_FACTOR_INVALID: _("The code is wrong or was already used. Enter the "
                                       "current code from your authenticator app."),
    ErrorCode.NOT_FOUND: _("There is no such record, or it is not yours to see."),
    ErrorCode.INVALID_TRANSITION: _("The case is no longer in a state that allows this. "
                                    "Reload the page to see where it is now."),
    ErrorCode.CONFLICT: _("This conflicts with the current state of the record."),
    # The reserve's codes (custody's services).
    ErrorCode.OWN_TRANSFER: _("You proposed this transfer: other bank officers approve it."),
    ErrorCode.OWN_ENTRY: _("You entered this yourself: another person must approve it."),
    ErrorCode.ALREADY_APPROVED: _("You have already approved this."),
    ErrorCode.PAYLOAD_CHANGED: _("The transaction changed since you looked at it: review it "
                                 "again before approving."),
    ErrorCode.CASE_NOT_TRANSFERABLE: _("This case cannot be transferred: its confiscation "
                                       "order must be final."),
    ErrorCode.NOTHING_TO_TRANSFER: _("The case's custody address holds nothing to transfer."),
    ErrorCode.DESTINATION_NOT_RESERVE: _("Only an unused address of the chosen reserve wallet "
                                         "can be the destination."),
    ErrorCode.COINS_LOCKED: _("These custody coins are already in another open transfer."),
    ErrorCode.WALLET_NOT_ACTIVE: _("This reserve wallet is not approved for use on this "
                                   "network."),
    ErrorCode.NO_ACTIVE_POLICY: _("The reserve wallet has no approved quorum policy."),
    ErrorCode.INVALID_PSBT: _("This is not a PSBT Qazyna can read."),
    ErrorCode.PSBT_MISMATCH: _("This PSBT is not the transaction the quorum approved."),
    ErrorCode.SIGNATURE_FOREIGN_KEY: _("A signature in this PSBT is from a key outside the "
                                       "custody wallet."),
    ErrorCode.SIGNATURE_INVALID: _("A signature in this PSBT does not verify."),
    ErrorCode.NO_NEW_SIGNATURES: _("This PSBT adds no new signatures."),
    ErrorCode.NOT_SETTLED: _("Not enough confirmations yet."),
    ErrorCode.CHAIN_UNAVAILABLE: _("The Bitcoin node could not be asked. Try again in a "
                                   "minute."),
    ErrorCode.SETTLEMENT_PAUSED: _("Settlement is paused by the circuit breaker."),
    ErrorCode.WARRANT_DOCUMENT_MISSING: _("Upload the warrant or the seizure protocol before "
                                          "submitting: the seizure rests on it."),
    ErrorCode.ORDER_DOCUMENT_MISSING: _("No document of this case has this SHA-256: upload "
                                        "the court order's document first."),
    ErrorCode.ORDER_DOCUMENT_MISMATCH: _("The document with this SHA-256 is not a court "
                                         "order: choose the order's own document."),
}


def in_english() -> bool:
    return (get_language() or "en").split("-")[0] == "en"


def describe(exc: DomainError) -> str:
    """The message for a domain error in the active language."""
    if in_english():
        return exc.detail
    return str(CODE_TEXT.get(exc.code, exc.detail))


def as_validation_error(exc: DomainError) -> ValidationError:
    """A form error carrying the code, the message and the service's own detail."""
    detail = "" if in_english() else exc.detail
    return ValidationError(describe(exc), code=exc.code.value, params={"detail": detail})


def error_entries(errors: Any) -> list[dict[str, str]]:
    """[{message, code, detail}] from a list of ValidationErrors (form.errors.as_data())."""
    entries = []
    for error in errors:
        for item in error.error_list if hasattr(error, "error_list") else [error]:
            params = item.params or {}
            message = item.message % params if params and "%(" in str(item.message) \
                else item.message
            entries.append({"message": str(message), "code": item.code or "invalid",
                            "detail": str(params.get("detail", "") or "")})
    return entries
