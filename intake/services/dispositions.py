"""Nothing left behind: where each seized asset went (DESIGN §4). A case reaches IN_RESERVE or
CLOSED only when every asset has a recorded disposition: settled in a reserve wallet (a
transfer), handed to the fund's custodian for that asset (a receipt, four eyes), or released
by court order. The reserve side records them (custody calls these inside its own
transaction); intake keeps the rule, in the case's moves and in case_close."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from core.audit import record_event
from core.errors import Conflict, ErrorCode

from ..audit import IntakeAction
from ..models import CaseStatus, Disposition, SeizedAsset, SeizureCase

# Case states the rule guards: a move into one needs every asset disposed of.
DISPOSED_STATES = frozenset({CaseStatus.IN_RESERVE, CaseStatus.CLOSED})


def undisposed_assets(case: SeizureCase) -> list[SeizedAsset]:
    return list(SeizedAsset.objects.filter(case=case, disposition=Disposition.HELD))


def require_all_disposed(case: SeizureCase, *, target: str) -> None:
    """409 assets_not_disposed, naming each asset still held, unless none is."""
    held = undisposed_assets(case)
    if held:
        names = ", ".join(f"{a.declared_amount} {a.asset}" for a in held)
        raise Conflict(f"The case cannot move to {target}: no disposition is recorded for "
                       f"{names} (settled in reserve, handed to the fund's custodian, or "
                       "released by court order).", code=ErrorCode.ASSETS_NOT_DISPOSED,
                       assets=[str(a.public_id) for a in held])


def asset_dispose(*, asset_id: int, disposition: str, ref: str, actor: Any = None,
                  details: dict[str, Any] | None = None) -> SeizedAsset:
    """Record where an asset went (inside the caller's transaction). The same disposition
    by the same record again is a no-op; another one over it is refused (already_disposed)."""
    if disposition not in Disposition.values or disposition == Disposition.HELD:
        raise ValueError(f"{disposition!r} is not a disposition")
    asset = SeizedAsset.objects.select_for_update().get(pk=asset_id)
    if asset.disposition == disposition and asset.disposition_ref == ref:
        return asset
    if asset.is_disposed:
        raise Conflict(f"This asset was already {asset.get_disposition_display().lower()} "
                       f"({asset.disposition_ref}).", code=ErrorCode.ALREADY_DISPOSED,
                       disposition=asset.disposition)
    asset.disposition, asset.disposition_ref = disposition, ref
    asset.disposed_at = timezone.now()
    asset.save(update_fields=["disposition", "disposition_ref", "disposed_at"])
    record_event(actor=actor, action=IntakeAction.ASSET_DISPOSED, obj=asset,
                 before={"disposition": Disposition.HELD},
                 after={"disposition": disposition, "ref": ref, "case": str(asset.case.public_id),
                        **(details or {})})
    return asset


def asset_undispose(*, asset_id: int, ref: str, reason: str, actor: Any = None) -> SeizedAsset:
    """A disposition undone (a reorganisation removed the settling transfer): the asset is
    held again. Only the record that disposed of it undoes it; safe to run twice."""
    asset = SeizedAsset.objects.select_for_update().get(pk=asset_id)
    if asset.disposition_ref != ref or not asset.is_disposed:
        return asset
    before = {"disposition": asset.disposition, "ref": asset.disposition_ref}
    asset.disposition, asset.disposition_ref, asset.disposed_at = Disposition.HELD, "", None
    asset.save(update_fields=["disposition", "disposition_ref", "disposed_at"])
    record_event(actor=actor, action=IntakeAction.ASSET_DISPOSITION_UNDONE, obj=asset,
                 before=before, after={"disposition": Disposition.HELD}, reason=reason)
    return asset
