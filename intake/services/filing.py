"""Filing a case with its assets in one command: one request, one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.audit import audit_batch
from core.errors import Conflict
from core.transactions import all_or_nothing

from ..models import CaseStatus, SeizedAsset, SeizureCase
from .assets import asset_added_event, asset_fields, is_tracked
from .cases import case_created_event, case_fields, case_insert
from .wallets import assign_custody_address


def case_file(*, actor: Any, data: dict[str, Any],
              assets: Iterable[Mapping[str, Any]] = ()) -> SeizureCase:
    """A new case and its assets, all or nothing: a refused asset leaves no case behind. The
    same checks and audit events as case_create followed by asset_add for each asset, in the
    shape a busy agency needs (tests/intake/test_api_file_with_assets.py pins the statements):

    - every check that needs no database first, before the transaction begins;
    - no savepoint inside the idempotent API edge's transaction, which rolls back whole on
      any error (core.transactions.all_or_nothing); one elsewhere when nested;
    - the agency's custody index taken by one UPDATE … RETURNING after those checks
      (wallets.take_custody_index), so the wallet's row lock lasts only for the inserts
      that follow, not across locks, re-reads and the other assets' work;
    - the case inserted once with its custody address (no re-read under a lock: no one else
      can see it before commit), the assets in one INSERT;
    - the audit chain's head taken once, last (core.audit.audit_batch)."""
    fields = case_fields(actor=actor, data=data)
    prepared = [asset_fields(**asset) for asset in assets]
    # One custody address per case, on its wallet's chain and network.
    networks = list(dict.fromkeys((f["chain"], f["network"]) for f in prepared if is_tracked(f)))
    if len(networks) > 1:
        raise Conflict(f"This case's custody address is on {' '.join(networks[0])}, not "
                       f"{' '.join(networks[1])}.")
    with all_or_nothing(), audit_batch():
        case = SeizureCase(agency_id=actor.agency_id, filed_by=actor, status=CaseStatus.DRAFT,
                           **fields)
        case_created_event(case, actor)
        if networks:
            chain, network = networks[0]
            assign_custody_address(case, network, chain)
        case_insert(case)
        seized = SeizedAsset.objects.bulk_create([
            SeizedAsset(case=case, custody_address=case.custody_address if is_tracked(f)
                        else "", **f) for f in prepared])
        for asset in seized:
            asset_added_event(asset, case, actor)
    # Just created: it has no confiscation order (the reply needs no query to say so).
    SeizureCase.confiscation_order.related.set_cached_value(case, None)
    return case
