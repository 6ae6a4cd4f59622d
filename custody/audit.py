"""Custody's audit actions. The values are what auditors and tests grep for: never change
one, add a new member instead."""

from core.audit import AuditAction


class CustodyAction(AuditAction):
    RESERVE_WALLET_ENTERED = "reserve_wallet.entered"
    RESERVE_WALLET_APPROVED = "reserve_wallet.approved"
    RESERVE_WALLET_RETIRED = "reserve_wallet.retired"
    QUORUM_POLICY_PROPOSED = "quorum_policy.proposed"
    QUORUM_POLICY_APPROVED = "quorum_policy.approved"
    QUORUM_POLICY_SUPERSEDED = "quorum_policy.superseded"

    TRANSFER_PROPOSED = "transfer.proposed"
    TRANSFER_APPROVAL_GIVEN = "transfer.approval_given"
    TRANSFER_APPROVED = "transfer.approved"
    TRANSFER_REBUILT = "transfer.rebuilt"
    TRANSFER_CANCELLED = "transfer.cancelled"
    TRANSFER_SIGNATURE_UPLOADED = "transfer.signature_uploaded"
    TRANSFER_PAYLOAD_MISMATCH = "transfer.payload_mismatch"
    PRICE_APPROVED = "price.approved"
    DEPOSIT_ATTRIBUTION_PROPOSED = "deposit.attribution_proposed"
    DEPOSIT_ATTRIBUTION_REJECTED = "deposit.attribution_rejected"
    TRANSFER_BROADCAST = "transfer.broadcast"
    TRANSFER_FAILED = "transfer.failed"
    TRANSFER_CONFIRMING = "transfer.confirming"
    TRANSFER_SETTLED = "transfer.settled"
    TRANSFER_REORGED = "transfer.reorged"
    TRANSFER_REPLACED = "transfer.replaced"
    TRANSFER_CONFLICTED = "transfer.conflicted"

    LEDGER_POSTED = "ledger.posted"
    LEDGER_REVERSED = "ledger.reversed"
    DEPOSIT_SEEN = "deposit.seen"
    DEPOSIT_ATTRIBUTED = "deposit.attributed"
    DEPOSIT_REVERSED = "deposit.reversed"
    PRICE_RECORDED = "price.recorded"
    RESERVE_RECONCILED = "reserve.reconciled"

    RELEASE_ORDER_RECORDED = "release_order.recorded"
    RELEASE_ORDER_APPROVED = "release_order.approved"
    RELEASE_ORDER_REJECTED = "release_order.rejected"
    HANDOVER_PROPOSED = "asset_handover.proposed"
    HANDOVER_APPROVED = "asset_handover.approved"
    HANDOVER_REJECTED = "asset_handover.rejected"
