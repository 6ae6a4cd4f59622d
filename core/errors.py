"""Domain errors with stable codes. One exception handler maps them to HTTP."""

from enum import StrEnum


class ErrorCode(StrEnum):
    # 400
    INVALID = "invalid"
    INVALID_ADDRESS = "invalid_address"
    WRONG_NETWORK = "wrong_network"
    INVALID_TXID = "invalid_txid"
    INVALID_AMOUNT = "invalid_amount"
    PRIVATE_KEY_REFUSED = "private_key_refused"
    INVALID_DESCRIPTOR = "invalid_descriptor"
    FILE_TOO_LARGE = "file_too_large"
    FILE_TYPE_NOT_ALLOWED = "file_type_not_allowed"
    DUPLICATE = "duplicate"
    DATE_IN_FUTURE = "date_in_future"
    INVALID_FILTER = "invalid_filter"
    UNKNOWN_CHAIN = "unknown_chain"
    ORDER_DOCUMENT_MISSING = "order_document_missing"
    ORDER_DOCUMENT_MISMATCH = "order_document_mismatch"
    # 403
    FORBIDDEN = "forbidden"
    OWN_CASE = "own_case"
    SECOND_FACTOR_REQUIRED = "second_factor_required"
    SECOND_FACTOR_INVALID = "second_factor_invalid"
    SECOND_FACTOR_LOCKED = "second_factor_locked"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "locked_out"
    # 404
    NOT_FOUND = "not_found"
    # 409
    INVALID_TRANSITION = "invalid_transition"
    CONFLICT = "conflict"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"  # 422
    IDEMPOTENCY_IN_FLIGHT = "idempotency_in_flight"
    WARRANT_DOCUMENT_MISSING = "warrant_document_missing"
    # 429
    THROTTLED = "throttled"
    # custody: transfers, the signing ceremony, reserve wallets (400/403/409 by the raiser)
    INVALID_PSBT = "invalid_psbt"
    PSBT_MISMATCH = "psbt_mismatch"
    SIGNATURE_FOREIGN_KEY = "signature_foreign_key"
    SIGNATURE_INVALID = "signature_invalid"
    NO_NEW_SIGNATURES = "no_new_signatures"
    NOTHING_TO_TRANSFER = "nothing_to_transfer"
    DESTINATION_NOT_RESERVE = "destination_not_reserve"
    OWN_TRANSFER = "own_transfer"
    OWN_ENTRY = "own_entry"
    ALREADY_APPROVED = "already_approved"
    PAYLOAD_CHANGED = "payload_changed"
    COINS_LOCKED = "coins_locked"
    CASE_NOT_TRANSFERABLE = "case_not_transferable"
    WALLET_NOT_ACTIVE = "wallet_not_active"
    NO_ACTIVE_POLICY = "no_active_policy"
    NOT_SETTLED = "not_settled"
    CHAIN_UNAVAILABLE = "chain_unavailable"
    SETTLEMENT_PAUSED = "settlement_paused"
    ASSET_NOT_VERIFIED = "asset_not_verified"
    TRANSFER_ON_HOLD = "transfer_on_hold"
    # intake: approving a case whose asset shows a discrepancy needs explicit acceptance
    DISCREPANCY_NOT_ACCEPTED = "discrepancy_not_accepted"
    # nothing left behind: asset dispositions, court-ordered releases
    ASSETS_NOT_DISPOSED = "assets_not_disposed"
    ALREADY_DISPOSED = "already_disposed"
    DESTINATION_NOT_IN_ORDER = "destination_not_in_order"
    NO_RELEASE_ORDER = "no_release_order"


class DomainError(Exception):
    status = 400
    default_code = ErrorCode.INVALID

    def __init__(self, detail, *, code=None, **extra):
        super().__init__(detail)
        self.detail = str(detail)
        self.code = ErrorCode(code or self.default_code)
        self.extra = extra


class ValidationFailed(DomainError):
    status = 400


class PermissionRefused(DomainError):
    status = 403
    default_code = ErrorCode.FORBIDDEN


class NotFound(DomainError):
    status = 404
    default_code = ErrorCode.NOT_FOUND


class TransitionNotAllowed(DomainError):
    status = 409
    default_code = ErrorCode.INVALID_TRANSITION

    def __init__(self, *, entity, current, target):
        super().__init__(
            f"A {entity} in state {current} cannot move to {target}.",
            current_status=str(current),
            target_status=str(target),
        )


class Unprocessable(DomainError):
    status = 422
    default_code = ErrorCode.INVALID


class Conflict(DomainError):
    status = 409
    default_code = ErrorCode.CONFLICT
