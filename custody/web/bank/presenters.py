"""What the bank officers' pages show, gathered once from custody's selectors and models:
a transfer's exact payload, its approvals against the policy, its signatures, its
confirmations; and the words for custody's states in the person's language. Nothing here
decides what may be done: the services do, and the commands on offer come from the
transition table (TRANSFER_TABLE.commands_for)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from chain.models import ChainCursor
from intake import selectors as intake_selectors
from intake.models import CaseStatus, Disposition, SeizedAsset, SeizureCase
from intake.transitions import RELEASABLE_STATES

from ... import chainio, selectors
from ...models import (
    OPEN_STATES,
    AssetHandover,
    Deposit,
    FundSource,
    PriceRecord,
    SignedPsbtUpload,
    Transfer,
    TransferApproval,
    TransferStatus,
    Valuation,
)
from ...psbt import estimate_vsize, signature_counts
from ...services.handovers import CUSTODIAN_STATES
from ...transitions import HANDOVER_TABLE, TRANSFER_TABLE, Command, takes_signatures

T = TransferStatus

TRANSFER_STATUS_LABELS: dict[str, Any] = {
    T.PROPOSED: _("Proposed, waiting for approvals"),
    T.APPROVED: _("Approved, waiting for signatures"),
    T.SIGNING: _("Signing"),
    T.BROADCAST: _("Sent to the network"),
    T.CONFIRMING: _("Confirming"),
    T.SETTLED: _("Settled in the reserve"),
    T.CANCELLED: _("Cancelled"),
    T.FAILED: _("Failed (rejected by the node)"),
    T.REPLACED: _("Replaced"),
    T.CONFLICTED: _("Conflicted"),
    T.ON_HOLD: _("On hold: an input vanished, never offered for signing"),
}
TRANSFER_STATUS_COLOURS: dict[str, str] = {
    T.PROPOSED: "blue", T.APPROVED: "purple", T.SIGNING: "purple", T.BROADCAST: "orange",
    T.CONFIRMING: "orange", T.SETTLED: "green", T.CANCELLED: "grey", T.FAILED: "red",
    T.REPLACED: "red", T.CONFLICTED: "red", T.ON_HOLD: "red",
}
DEPOSIT_STATUS_LABELS: dict[str, Any] = {
    Deposit.Status.UNATTRIBUTED: _("Waiting for attribution"),
    Deposit.Status.PROPOSED: _("Attribution proposed, waiting for a second officer"),
    Deposit.Status.ATTRIBUTED: _("Attributed"),
    Deposit.Status.REVERSED: _("Reversed by a reorganisation"),
    Deposit.Status.DROPPED: _("Dropped from the mempool, never mined"),
    Deposit.Status.REPLACED: _("Replaced in the mempool by another transaction"),
    Deposit.Status.CONFLICTED: _("Double-spent by a mined transaction"),
}
FUND_SOURCE_LABELS: dict[str, Any] = {
    FundSource.SEIZURE: _("Confiscated in a criminal case"),
    FundSource.STATE_MINING: _("State mining"),
    FundSource.OTHER: _("Other"),
}
PRICE_STATUS_LABELS: dict[str, Any] = {
    PriceRecord.Status.PENDING: _("Waiting for a second person"),
    PriceRecord.Status.ACTIVE: _("Approved"),
    PriceRecord.Status.REJECTED: _("Rejected"),
}
VALUATION_POINTS: dict[str, Any] = {
    Valuation.Point.SEIZURE: _("At seizure"),
    Valuation.Point.CONFISCATION: _("At confiscation"),
    Valuation.Point.SETTLEMENT: _("At reserve entry (settlement)"),
    Valuation.Point.RELEASE: _("At release (disposal)"),
}
BREAKER_CAUSES: dict[str, Any] = {
    "stale_tip": _("The node's newest block is too old: the node may be cut off from the "
                   "network."),
    "deep_reorg": _("A chain reorganisation deeper than the threshold was seen."),
}

# Transfers whose coins are in flight or waiting for people, for the home page.
AWAITING_SIGNATURES = (T.APPROVED, T.SIGNING)
ON_THE_CHAIN = (T.BROADCAST, T.CONFIRMING)

_KEY_ORIGIN = re.compile(r"\[([0-9a-fA-F]{8})[/\]]")


def transfer_status_label(status: str) -> str:
    return str(TRANSFER_STATUS_LABELS.get(status, status))


def confirmations_needed(network: str) -> int:
    return int(settings.SETTLEMENT_CONFIRMATIONS.get(network, 6))


def key_fingerprints(descriptor: str) -> list[str]:
    """The key origins' fingerprints of a wallet descriptor, in its order."""
    seen: list[str] = []
    for fp in _KEY_ORIGIN.findall(descriptor or ""):
        if fp.lower() not in seen:
            seen.append(fp.lower())
    return seen


# --- a transfer --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Progress:
    """Confirmations k of N, as the watchers last derived them from the node."""

    status: str
    confirmations: int
    needed: int
    txid: str
    block_height: int | None
    live: bool

    @property
    def shown(self) -> int:
        return min(self.confirmations, self.needed)

    @property
    def percent(self) -> int:
        if self.status == T.SETTLED or self.needed <= 0:
            return 100
        return min(100, int(100 * self.confirmations / self.needed))

    @property
    def status_label(self) -> str:
        return transfer_status_label(self.status)

    @property
    def settled(self) -> bool:
        return self.status == T.SETTLED


def progress(transfer: Transfer) -> Progress:
    """The watchers report a transaction's block when it changes, not each block on top of
    it: between the first confirmation and settlement, the count is derived the chain's way
    (WatchedTransaction.confirmations) from the block the watchers recorded and the tip they
    last polled."""
    confirmations = transfer.confirmations or 0
    if transfer.txid and transfer.status in (T.CONFIRMING, T.SETTLED):
        watched = chainio.watched_transfer_state(transfer)
        cursor = ChainCursor.objects.filter(id=1).first()
        if watched is not None and watched.block_hash and cursor is not None:
            confirmations = max(confirmations, watched.confirmations(cursor.height))
    return Progress(status=transfer.status, confirmations=confirmations,
                    needed=confirmations_needed(transfer.network), txid=transfer.txid,
                    block_height=transfer.block_height,
                    live=transfer.status in ON_THE_CHAIN
                    or (transfer.status == T.SIGNING and bool(transfer.final_tx_hex)))


@dataclass(frozen=True)
class Approval:
    approver: str
    at: Any


@dataclass(frozen=True)
class Signing:
    threshold: int
    key_count: int
    fingerprints: list[str]
    signed: list[str]
    per_input: list[int]
    uploads: list[SignedPsbtUpload]
    fully_signed: bool


@dataclass(frozen=True)
class TransferView:
    transfer: Transfer
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    vsize: int
    approvals: list[Approval]
    stale_approvals: list[Approval]
    approvals_required: int
    commands: set[str]
    i_proposed: bool
    i_approved: bool
    signing: Signing
    progress: Progress
    breaker: tuple[bool, str]
    payload_json: str = ""
    valuations: list[tuple[str, Valuation]] = field(default_factory=list)

    @property
    def approvals_missing(self) -> int:
        return max(0, self.approvals_required - len(self.approvals))

    @property
    def offers_approval(self) -> bool:
        return Command.APPROVE in self.commands

    @property
    def offers_cancel(self) -> bool:
        return Command.CANCEL in self.commands and not self.transfer.may_be_on_the_node

    @property
    def takes_signatures(self) -> bool:
        return Command.SIGN in self.commands and not self.signing.fully_signed

    @property
    def psbt_available(self) -> bool:
        """The unsigned PSBT is handed to the bank officers once the quorum approved it."""
        return Command.SIGN in self.commands and takes_signatures(self.transfer.status)

    @property
    def waiting_for_broadcast(self) -> bool:
        """Fully signed and not yet sent: the broadcast task (or the sweeper) sends it."""
        return self.transfer.status == T.SIGNING and bool(self.transfer.final_tx_hex)


def transfer_view(transfer: Transfer, user: Any) -> TransferView:
    payload = transfer.payload or {}
    case = transfer.case
    custody = case.custody_wallet
    threshold = custody.threshold if custody else 0
    key_count = custody.key_count if custody else 0
    approvals_all = list(transfer.approvals.select_related("approver").order_by("id"))
    counted = {a.pk for a in selectors.counted_approvals(transfer)}
    current = [Approval(a.approver.get_username(), a.created_at) for a in approvals_all
               if a.pk in counted]
    stale = [Approval(a.approver.get_username(), a.created_at) for a in approvals_all
             if a.pk not in counted and a.approver_id != transfer.proposed_by_id]
    uploads = list(transfer.uploads.select_related("uploaded_by")
                   .filter(payload_hash=transfer.payload_hash).order_by("id"))
    signed = sorted({fp for u in uploads for fp in (u.signer_fingerprints or [])})
    inputs = list(payload.get("inputs") or [])
    vsize = estimate_vsize(input_count=len(inputs) or transfer.inputs.count(),
                           threshold=threshold or 1, key_count=key_count or 1,
                           output_count=len(payload.get("outputs") or []) or 1)
    return TransferView(
        transfer=transfer, inputs=inputs, outputs=list(payload.get("outputs") or []),
        vsize=vsize, approvals=current, stale_approvals=stale,
        approvals_required=transfer.approvals_required,
        commands=set(TRANSFER_TABLE.commands_for(transfer.status, user)),
        i_proposed=transfer.proposed_by_id == user.pk,
        i_approved=any(a.approver_id == user.pk and a.pk in counted for a in approvals_all),
        signing=Signing(
            threshold=threshold, key_count=key_count,
            fingerprints=key_fingerprints(custody.descriptor if custody else ""),
            signed=signed,
            per_input=signature_counts(transfer.combined_psbt) if transfer.combined_psbt
            else [0] * len(inputs),
            uploads=uploads, fully_signed=bool(transfer.final_tx_hex)),
        progress=progress(transfer),
        breaker=chainio.settlement_paused(),
        payload_json=json.dumps(payload, sort_keys=True, indent=2),
        valuations=valuations(transfer.valuations.all()))


def valuations(rows: Any) -> list[tuple[str, Valuation]]:
    """Valuations in KZT with the point in words, each with its price (and its source)."""
    return [(str(VALUATION_POINTS.get(v.point, v.point)), v)
            for v in rows.select_related("price", "case").order_by("id")]


# --- lists and counts ---------------------------------------------------------------------------
def cases_ready_for_transfer(user: Any) -> QuerySet[SeizureCase]:
    """Cases whose confiscation is approved: the ones a transfer may be proposed from (the
    service checks the order's finality and the custody coins)."""
    return intake_selectors.case_list_for_user(
        user=user, filters={"status": [CaseStatus.CONFISCATION_APPROVED]})


def open_transfer_of(case: SeizureCase) -> Transfer | None:
    return case.transfers.filter(status__in=OPEN_STATES).first()


def transfers_awaiting_my_approval(user: Any) -> QuerySet[Transfer]:
    """Proposed transfers someone else proposed, whose current payload I have not approved."""
    mine = TransferApproval.objects.filter(transfer=OuterRef("pk"), approver=user,
                                           payload_hash=OuterRef("payload_hash"))
    return (selectors.transfer_list_for_user(user=user, filters={"status": [T.PROPOSED]})
            .exclude(proposed_by=user).annotate(_mine=Exists(mine)).filter(_mine=False)
            .order_by(F("created_at").asc()))


# --- assets handed over without a transfer ------------------------------------------------------
HANDOVER_STATUS_LABELS: dict[str, Any] = {
    AssetHandover.Status.PROPOSED: _("Waiting for a second officer"),
    AssetHandover.Status.APPROVED: _("Approved"),
    AssetHandover.Status.REJECTED: _("Rejected"),
}
HANDOVER_STATUS_COLOURS = {AssetHandover.Status.PROPOSED: "blue",
                           AssetHandover.Status.APPROVED: "green",
                           AssetHandover.Status.REJECTED: "grey"}
HANDOVER_KIND_LABELS: dict[str, Any] = {
    AssetHandover.Kind.TO_CUSTODIAN: _("Handed to the fund's custodian"),
    AssetHandover.Kind.RELEASE: _("Released by court order"),
}


def assets_to_hand_over(user: Any) -> QuerySet[SeizedAsset]:
    """Assets no chain adapter moves, still held, of cases this person sees whose order lets
    them leave (custody.services.handovers.CUSTODIAN_STATES, or a court's release), with no
    handover waiting or approved. The service decides for real."""
    cases = intake_selectors.case_list_for_user(user=user).filter(
        status__in=CUSTODIAN_STATES | RELEASABLE_STATES)
    live = AssetHandover.objects.filter(asset=OuterRef("pk"), status__in=[
        AssetHandover.Status.PROPOSED, AssetHandover.Status.APPROVED])
    return (SeizedAsset.objects.filter(case__in=cases, custody_address="",
                                       disposition=Disposition.HELD)
            .exclude(Exists(live)).select_related("case").order_by("case__case_number", "id"))


def handover_offers(handover: AssetHandover, user: Any) -> dict[str, bool]:
    """The table's commands for this person, not offered to the one who recorded it."""
    commands = set(HANDOVER_TABLE.commands_for(handover.status, user))
    mine = handover.proposed_by_id == user.pk
    return {"approve": Command.APPROVE in commands and not mine,
            "reject": Command.REJECT in commands and not mine, "mine": mine}
