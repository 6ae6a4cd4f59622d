"""The case lifecycle as data (DESIGN §2): from each state, the commands that lead on, and
who may perform them. Services perform a command only through
core.statemachine.apply_transition; the API's allowed_transitions read the same table."""

from core.roles import Role
from core.statemachine import SYSTEM, TransitionTable

from .models import AlertStatus
from .models import CaseStatus as S

CLERK = {Role.CLERK}
LEGAL = {Role.LEGAL_OFFICER}


class CaseCommand:
    SUBMIT = "submit"
    START_REVIEW = "start_review"
    RETURN_FOR_CORRECTION = "return_for_correction"
    REJECT = "reject"
    RECORD_FINAL_ORDER = "record_final_order"
    RECORD_ORDER_UNDER_APPEAL = "record_order_under_appeal"
    RECORD_APPEAL = "record_appeal"
    UPHOLD_APPEAL = "uphold_appeal"
    OVERTURN_APPEAL = "overturn_appeal"
    CLOSE = "close"
    # The reserve side moves the case (intake.services.case_move_by_system).
    TRANSFER_PROPOSED = "transfer_proposed"
    TRANSFER_RELEASED = "transfer_released"
    SETTLED_IN_RESERVE = "settled_in_reserve"
    RESERVE_REORGED = "reserve_reorged"
    # Every asset accounted for without a (further) transfer: handed to the fund's
    # custodian (IN_RESERVE), or all released by court order (CLOSED).
    ASSETS_HANDED_OVER = "assets_handed_over"
    ASSETS_RELEASED = "assets_released"


C = CaseCommand
CASE_TABLE = TransitionTable.from_spec("case", {
    S.DRAFT: {C.SUBMIT: (S.SUBMITTED, CLERK)},
    S.RETURNED_FOR_CORRECTION: {C.SUBMIT: (S.SUBMITTED, CLERK)},
    S.SUBMITTED: {C.START_REVIEW: (S.UNDER_REVIEW, LEGAL)},
    S.UNDER_REVIEW: {
        C.RETURN_FOR_CORRECTION: (S.RETURNED_FOR_CORRECTION, LEGAL),
        C.REJECT: (S.REJECTED, LEGAL),
        C.RECORD_FINAL_ORDER: (S.CONFISCATION_APPROVED, LEGAL),
        C.RECORD_ORDER_UNDER_APPEAL: (S.ON_APPEAL, LEGAL),
    },
    S.CONFISCATION_APPROVED: {
        C.RECORD_APPEAL: (S.ON_APPEAL, LEGAL),
        C.TRANSFER_PROPOSED: (S.IN_TRANSFER, SYSTEM),
        C.ASSETS_HANDED_OVER: (S.IN_RESERVE, SYSTEM),
        C.ASSETS_RELEASED: (S.CLOSED, SYSTEM),
    },
    S.ON_APPEAL: {
        C.UPHOLD_APPEAL: (S.CONFISCATION_APPROVED, LEGAL),
        C.OVERTURN_APPEAL: (S.REJECTED, LEGAL),
    },
    S.IN_TRANSFER: {
        C.TRANSFER_RELEASED: (S.CONFISCATION_APPROVED, SYSTEM),
        C.SETTLED_IN_RESERVE: (S.IN_RESERVE, SYSTEM),
        C.ASSETS_RELEASED: (S.CLOSED, SYSTEM),  # a restitution order took everything
    },
    S.IN_RESERVE: {
        C.RESERVE_REORGED: (S.IN_TRANSFER, SYSTEM),
        C.CLOSE: (S.CLOSED, {Role.LEGAL_OFFICER, Role.BANK_OFFICER}),
    },
    S.REJECTED: {C.CLOSE: (S.CLOSED, LEGAL)},
    S.CLOSED: {},
})

# States in which the clerk may still edit the case and its assets.
EDITABLE_STATES = frozenset({S.DRAFT, S.RETURNED_FOR_CORRECTION})
# States in which sweeps may still be recorded (until the legal verdict).
SWEEP_RECORDING_STATES = EDITABLE_STATES | {S.SUBMITTED, S.UNDER_REVIEW}
# States from which assets may leave custody for the reserve.
TRANSFERABLE_STATES = frozenset({S.CONFISCATION_APPROVED})


# --- alerts: told, acknowledged, resolved (intake.services.alerts) ----------------------------
class AlertCommand:
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    # Nobody acknowledged in time: the next level is told (a re-entry, performed every time).
    ESCALATE = "escalate"


# People who answer alerts; auditors read them and never change anything.
ALERT_RESPONDERS = {Role.CLERK, Role.LEGAL_OFFICER, Role.BANK_OFFICER, Role.ADMIN}
# Resolving closes the alarm in the record: the people who decide, with a fresh code.
ALERT_RESOLVERS = {Role.LEGAL_OFFICER, Role.BANK_OFFICER, Role.ADMIN}

A = AlertCommand
ALERT_TABLE = TransitionTable.from_spec("alert", {
    AlertStatus.OPEN: {
        A.ACKNOWLEDGE: (AlertStatus.ACKNOWLEDGED, ALERT_RESPONDERS),
        A.RESOLVE: (AlertStatus.RESOLVED, ALERT_RESOLVERS),
        A.ESCALATE: (AlertStatus.OPEN, SYSTEM),
    },
    AlertStatus.ACKNOWLEDGED: {A.RESOLVE: (AlertStatus.RESOLVED, ALERT_RESOLVERS)},
    AlertStatus.RESOLVED: {},
})
# States in which a court's order may release assets: back to the owner of a rejected case
# (an overturned appeal lands there too), or restitution to victims from a confiscated one.
RELEASABLE_STATES = frozenset({S.REJECTED, S.CONFISCATION_APPROVED})
