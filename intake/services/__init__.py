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
from .evidence import detect_content_type, evidence_upload, handover_add
from .wallets import allocate_custody_address, custody_wallet_register

__all__ = [
    "CASE_FIELDS", "AppealOutcome", "alert_acknowledge", "alert_close_by_system",
    "alert_escalate", "alert_raise",
    "alert_resolve", "allocate_custody_address", "asset_add",
    "asset_record_observation", "asset_sweep_back", "asset_sweep_lost", "asset_sweep_reverted",
    "case_approve_confiscation",
    "case_close", "case_create", "case_move_by_system", "case_record_appeal", "case_reject",
    "case_resolve_appeal", "case_return_for_correction", "case_start_review", "case_submit",
    "case_update", "handover_add", "custody_wallet_register", "detect_content_type",
    "evidence_upload", "queue_asset_check", "sweep_record",
]
