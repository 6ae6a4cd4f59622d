"""Every write of the intake side, cut by lifecycle; the public names are all here."""

from .alerts import alert_raise
from .assets import (
    asset_add,
    asset_record_observation,
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
from .filing import case_file
from .wallets import allocate_custody_address, custody_wallet_register

__all__ = [
    "CASE_FIELDS", "AppealOutcome", "alert_raise", "allocate_custody_address", "asset_add",
    "asset_record_observation", "asset_sweep_reverted", "case_approve_confiscation",
    "case_close", "case_create", "case_file", "case_move_by_system", "case_record_appeal",
    "case_reject",
    "case_resolve_appeal", "case_return_for_correction", "case_start_review", "case_submit",
    "case_update", "handover_add", "custody_wallet_register", "detect_content_type",
    "evidence_upload", "queue_asset_check", "sweep_record",
]
