"""The case lifecycle as data (DESIGN §2). Services read it; the API shows it."""

from core.statemachine import TransitionTable

from .models import CaseStatus as S

CASE_TRANSITIONS = TransitionTable("case", {
    S.DRAFT: {S.SUBMITTED},
    S.SUBMITTED: {S.UNDER_REVIEW},
    S.UNDER_REVIEW: {S.RETURNED_FOR_CORRECTION, S.REJECTED, S.CONFISCATION_APPROVED,
                     S.ON_APPEAL},
    S.RETURNED_FOR_CORRECTION: {S.SUBMITTED},
    S.CONFISCATION_APPROVED: {S.ON_APPEAL, S.IN_TRANSFER},
    S.ON_APPEAL: {S.CONFISCATION_APPROVED, S.REJECTED},
    # Custody moves the case: a proposed transfer, back when it is cancelled or fails,
    # IN_RESERVE at settlement, and back to IN_TRANSFER if a deep reorg undoes it.
    S.IN_TRANSFER: {S.CONFISCATION_APPROVED, S.IN_RESERVE},
    S.IN_RESERVE: {S.IN_TRANSFER, S.CLOSED},
    S.REJECTED: {S.CLOSED},
    S.CLOSED: set(),
})

# States in which the clerk may still edit the case and its assets.
EDITABLE_STATES = frozenset({S.DRAFT, S.RETURNED_FOR_CORRECTION})
# States from which assets may leave custody for the reserve.
TRANSFERABLE_STATES = frozenset({S.CONFISCATION_APPROVED})
