"""Reads of the custody side, and who may see them. Transfers, reserve wallets and the
ledger are for bank officers, auditors and admins; clerks and legal officers never see them
(404, as if they did not exist)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from chain.models import ChainCursor, WatchedOutput
from core.errors import NotFound
from core.models import User
from core.roles import Role, roles_of
from intake.models import SeizedAsset

from .models import (
    ApprovalStatus,
    AssetHandover,
    Deposit,
    JournalEntry,
    LedgerAccount,
    LedgerLine,
    PriceRecord,
    QuorumPolicy,
    ReleaseOrder,
    ReserveWallet,
    Transfer,
    TransferApproval,
    Valuation,
    ValuationGap,
)

M = TypeVar("M", bound=Model)

CUSTODY_READERS = {Role.BANK_OFFICER, Role.AUDITOR, Role.ADMIN}


def can_see_custody(user: User) -> bool:
    return bool(user.is_superuser or roles_of(user) & CUSTODY_READERS)


def _get(qs: QuerySet[M], public_id: Any, what: str) -> M:
    try:
        return qs.get(public_id=public_id)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound(f"No such {what}.") from None


def reserve_wallet_list_for_user(*, user: User) -> QuerySet[ReserveWallet]:
    if not can_see_custody(user):
        return ReserveWallet.objects.none()
    return ReserveWallet.objects.select_related("entered_by", "approved_by").order_by("id")


def reserve_wallet_get_for_user(*, user: User, public_id: Any) -> ReserveWallet:
    return _get(reserve_wallet_list_for_user(user=user), public_id, "reserve wallet")


def policy_get_for_user(*, user: User, public_id: Any) -> QuorumPolicy:
    if not can_see_custody(user):
        raise NotFound("No such policy.")
    return _get(QuorumPolicy.objects.select_related("wallet"), public_id, "policy")


def active_policy(wallet: ReserveWallet) -> QuorumPolicy | None:
    return QuorumPolicy.objects.filter(wallet=wallet, status=ApprovalStatus.ACTIVE).first()


def transfer_list_for_user(*, user: User,
                           filters: Mapping[str, Any] | None = None) -> QuerySet[Transfer]:
    """filters: validated values (TransferFilterSerializer): status a list of
    TransferStatus, case a case's public id (UUID)."""
    if not can_see_custody(user):
        return Transfer.objects.none()
    filters = filters or {}
    qs = (Transfer.objects.select_related("case", "reserve_wallet", "destination", "proposed_by",
                                          "release_order")
          .prefetch_related(Prefetch("approvals", queryset=TransferApproval.objects
                                     .select_related("approver").order_by("id")))
          .order_by("-created_at", "-id"))
    if filters.get("status"):
        qs = qs.filter(status__in=filters["status"])
    if filters.get("case"):
        qs = qs.filter(case__public_id=filters["case"])
    return qs


def transfer_get_for_user(*, user: User, public_id: Any) -> Transfer:
    if not can_see_custody(user):
        raise NotFound("No such transfer.")
    # No prefetched approvals here: a command that approves reads them fresh.
    return _get(Transfer.objects.select_related("case", "reserve_wallet", "destination",
                                                "proposed_by"), public_id, "transfer")


# Release orders are the legal officers' (they record and approve them) and the reserve
# readers' (bank officers propose the release transfer from one).
RELEASE_ORDER_READERS = CUSTODY_READERS | {Role.LEGAL_OFFICER}


def release_order_list_for_user(*, user: User,
                                filters: Mapping[str, Any] | None = None
                                ) -> QuerySet[ReleaseOrder]:
    """filters: case a case's public id (UUID), status an ApprovalStatus."""
    if not (user.is_superuser or roles_of(user) & RELEASE_ORDER_READERS):
        return ReleaseOrder.objects.none()
    filters = filters or {}
    qs = ReleaseOrder.objects.select_related("case", "recorded_by", "approved_by")
    if filters.get("case"):
        qs = qs.filter(case__public_id=filters["case"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def release_order_get_for_user(*, user: User, public_id: Any) -> ReleaseOrder:
    return _get(release_order_list_for_user(user=user), public_id, "release order")


def handover_list_for_user(*, user: User,
                           filters: Mapping[str, Any] | None = None) -> QuerySet[AssetHandover]:
    """filters: case a case's public id (UUID), status an AssetHandover.Status."""
    if not can_see_custody(user):
        return AssetHandover.objects.none()
    filters = filters or {}
    qs = AssetHandover.objects.select_related("case", "asset", "proposed_by", "approved_by",
                                              "release_order")
    if filters.get("case"):
        qs = qs.filter(case__public_id=filters["case"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def handover_get_for_user(*, user: User, public_id: Any) -> AssetHandover:
    return _get(handover_list_for_user(user=user), public_id, "asset handover")


def asset_get_for_handover(*, user: User, public_id: Any) -> SeizedAsset:
    """A seized asset as the reserve side sees it to record its handover (bank officers,
    auditors, admins; 404 for anyone else)."""
    if not can_see_custody(user):
        raise NotFound("No such asset.")
    return _get(SeizedAsset.objects.select_related("case"), public_id, "asset")


def counted_approvals(transfer: Transfer) -> QuerySet[TransferApproval]:
    """Approvals that count: of the current payload, never the proposer's."""
    return (transfer.approvals.filter(payload_hash=transfer.payload_hash)
            .exclude(approver_id=transfer.proposed_by_id))


def counted_approvals_of(transfer: Transfer) -> list[TransferApproval]:
    """counted_approvals as a list, from the approvals a list prefetched (no query per
    transfer) or from the database."""
    cached = getattr(transfer, "_prefetched_objects_cache", {}).get("approvals")
    if cached is None:
        return list(counted_approvals(transfer).select_related("approver").order_by("id"))
    return [a for a in cached
            if a.payload_hash == transfer.payload_hash and a.approver_id != transfer.proposed_by_id]


def deposit_list_for_user(*, user: User,
                          filters: Mapping[str, Any] | None = None) -> QuerySet[Deposit]:
    """filters: validated values (DepositFilterSerializer): status one Deposit.Status."""
    if not can_see_custody(user):
        return Deposit.objects.none()
    filters = filters or {}
    qs = (Deposit.objects.select_related("reserve_address__wallet", "attributed_by")
          .order_by("-seen_at", "-id"))
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def deposit_get_for_user(*, user: User, public_id: Any) -> Deposit:
    return _get(deposit_list_for_user(user=user), public_id, "deposit")


def price_list_for_user(*, user: User) -> QuerySet[PriceRecord]:
    if not can_see_custody(user):
        return PriceRecord.objects.none()
    return PriceRecord.objects.all()


def price_get_for_user(*, user: User, public_id: Any) -> PriceRecord:
    try:
        return price_list_for_user(user=user).get(public_id=public_id)
    except (PriceRecord.DoesNotExist, ValueError, TypeError, ValidationError):
        raise NotFound("No such price.") from None


def price_at(asset: str, when: dt.datetime) -> PriceRecord | None:
    """The latest approved price at or before when."""
    return (PriceRecord.objects.filter(asset=asset, observed_at__lte=when,
                                       status=PriceRecord.Status.ACTIVE)
            .order_by("-observed_at", "-id").first())


def valuation_list_for_user(*, user: User,
                            filters: Mapping[str, Any] | None = None) -> QuerySet[Valuation]:
    """filters (ValuationFilterSerializer): case a case's public id, point one
    Valuation.Point."""
    if not can_see_custody(user):
        return Valuation.objects.none()
    filters = filters or {}
    qs = Valuation.objects.select_related("case", "transfer", "price").order_by("at", "id")
    if filters.get("case"):
        qs = qs.filter(case__public_id=filters["case"])
    if filters.get("point"):
        qs = qs.filter(point=filters["point"])
    return qs


def valuation_gap_list_for_user(*, user: User, filters: Mapping[str, Any] | None = None
                                ) -> QuerySet[ValuationGap]:
    if not can_see_custody(user):
        return ValuationGap.objects.none()
    filters = filters or {}
    qs = ValuationGap.objects.select_related("case", "transfer", "valuation")
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def journal_for_user(*, user: User) -> QuerySet[JournalEntry]:
    if not can_see_custody(user):
        return JournalEntry.objects.none()
    return JournalEntry.objects.prefetch_related("lines").select_related("transfer", "deposit")


# --- balances -----------------------------------------------------------------------------
def _reserve_lines() -> QuerySet[LedgerLine]:
    return LedgerLine.objects.filter(account=LedgerAccount.RESERVE)


def wallet_ledger_balance(wallet: ReserveWallet) -> int:
    return _reserve_lines().filter(reserve_wallet=wallet).aggregate(
        s=Sum("amount_sats"))["s"] or 0


def balances() -> dict[str, Any]:
    """Reserve holdings by wallet, by case and by source (integer sats)."""
    lines = _reserve_lines()
    by_wallet = {
        str(row["reserve_wallet__public_id"]): {"label": row["reserve_wallet__label"],
                                                "sats": row["s"]}
        for row in lines.values("reserve_wallet__public_id", "reserve_wallet__label")
        .annotate(s=Sum("amount_sats")).order_by("reserve_wallet__label")
    }
    by_case = {
        str(row["case__public_id"]): {"case_number": row["case__case_number"], "sats": row["s"]}
        for row in lines.filter(case__isnull=False)
        .values("case__public_id", "case__case_number").annotate(s=Sum("amount_sats"))
        .order_by("case__case_number")
    }
    by_source = {row["source"]: row["s"] for row in
                 lines.values("source").annotate(s=Sum("amount_sats")).order_by("source")}
    total = lines.aggregate(s=Sum("amount_sats"))["s"] or 0
    return {"total_sats": total, "by_wallet": by_wallet, "by_case": by_case,
            "by_source": by_source}


def holdings_by_agency() -> list[dict[str, Any]]:
    """Reserve holdings by the agency whose case they came from (integer sats); coins that
    came from no case (state mining, other deposits) have agency None."""
    rows = (_reserve_lines().values("case__agency__code", "case__agency__name")
            .annotate(s=Sum("amount_sats")).order_by("case__agency__code"))
    return [{"agency": row["case__agency__code"], "name": row["case__agency__name"] or "",
             "sats": row["s"]} for row in rows]


def holdings_over_time() -> list[tuple[dt.date, int]]:
    """The reserve's balance at the end of each day an entry was posted (integer sats,
    compensating entries included), oldest first."""
    daily = (_reserve_lines().annotate(day=TruncDate("entry__created_at"))
             .values("day").annotate(s=Sum("amount_sats")).order_by("day"))
    series, running = [], 0
    for row in daily:
        running += row["s"]
        series.append((row["day"], running))
    return series


def ledger_is_balanced() -> bool:
    """Every journal entry's lines sum to zero."""
    return not (JournalEntry.objects.annotate(s=Sum("lines__amount_sats"))
                .filter(~Q(s=0)).exists())


# --- the reserve as of the watchers' last poll ------------------------------------------------
def last_poll() -> dict[str, Any]:
    """The tip the chain watchers last polled (height, hash, when), or Nones before the first
    poll."""
    cursor = ChainCursor.objects.filter(id=1).first()
    return {"tip_height": cursor.height if cursor else None,
            "tip_hash": cursor.block_hash if cursor else None,
            "polled_at": cursor.polled_at if cursor else None}


def reserve_outputs_at_last_poll(wallet: ReserveWallet) -> dict[str, dict[str, int]]:
    """{address: {"confirmed_sats", "unconfirmed_sats"}} for every address of wallet: its
    unspent coins as the watchers recorded them up to their last poll (mined in the active
    chain, or still in the mempool). No node call: the poll keeps these current."""
    addresses = list(wallet.addresses.order_by("index").values_list("address", flat=True))
    found = {a: {"confirmed_sats": 0, "unconfirmed_sats": 0} for a in addresses}
    rows = (WatchedOutput.objects.filter(address__in=addresses, spent_by_txid="")
            .values("address", "block_hash").annotate(s=Sum("value_sats")))
    for row in rows:
        key = "confirmed_sats" if row["block_hash"] else "unconfirmed_sats"
        found[row["address"]][key] += row["s"] or 0
    return found
