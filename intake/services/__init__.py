"""Every write of the intake side, cut by lifecycle; the public names are all here."""

from .alerts import (
    alert_acknowledge,
    alert_close_by_system,
    alert_escalate,
    alert_raise,
    alert_resolve,
)
from .assets import (
    asset_add,
    asset_record_observation,
    asset_sweep_back,
    asset_sweep_lost,
    asset_sweep_reverted,
    queue_asset_check,
    sweep_record,
)
from .cases import (
    CASE_FIELDS,
    AppealOutcome,
    case_advance_if_disposed,
    case_approve_confiscation,
    case_close,
    case_create,
    case_move_by_system,
    case_record_appeal,
    case_reject,
    case_resolve_appeal,
    case_return_for_correction,
    case_start_review,
    case_submit,
    case_update,
)
from .dispositions import (
    asset_dispose,
    asset_undispose,
    require_all_disposed,
    undisposed_assets,
)
from .evidence import detect_content_type, evidence_upload, handover_add
from .filing import case_file
from .wallets import allocate_custody_address, custody_wallet_register

__all__ = [
    "AppealOutcome", "CASE_FIELDS", "alert_acknowledge", "alert_close_by_system", "alert_escalate",
    "alert_raise", "alert_resolve", "allocate_custody_address", "asset_add", "asset_dispose",
    "asset_record_observation", "asset_sweep_back", "asset_sweep_lost", "asset_sweep_reverted",
    "asset_undispose", "case_advance_if_disposed", "case_approve_confiscation", "case_close",
    "case_create", "case_file", "case_move_by_system", "case_record_appeal", "case_reject",
    "case_resolve_appeal", "case_return_for_correction", "case_start_review", "case_submit",
    "case_update", "custody_wallet_register", "detect_content_type", "evidence_upload",
    "handover_add", "queue_asset_check", "require_all_disposed", "sweep_record",
    "undisposed_assets",
]
