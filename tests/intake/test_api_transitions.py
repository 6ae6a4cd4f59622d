"""The case transition table, pair by pair, through the API commands.

The expected moves are written out here from DESIGN §2, independently of
intake/transitions.py, so a wrong table fails this test."""

import itertools

import pytest
from django.db import transaction
from django.utils import timezone

from core.errors import TransitionNotAllowed
from core.models import AuditEvent
from intake.models import CaseStatus as S
from intake.models import ConfiscationOrder, SeizedAsset, SeizureCase
from intake.services import case_move_by_system
from intake.transitions import CASE_TABLE, CaseCommand
from tests.support.api import ORDER_PAYLOAD, attach_documents, url
from tests.support.factories import CaseFactory
from tests.support.second_factor import otp

pytestmark = pytest.mark.django_db

# command → (who, body, {source state: resulting state})
COMMANDS = {
    "submit": ("clerk", {}, {S.DRAFT: S.SUBMITTED, S.RETURNED_FOR_CORRECTION: S.SUBMITTED}),
    "start-review": ("legal", {}, {S.SUBMITTED: S.UNDER_REVIEW}),
    "return": ("legal", {"reason": "fix it"}, {S.UNDER_REVIEW: S.RETURNED_FOR_CORRECTION}),
    "reject": ("legal", {"reason": "no basis"}, {S.UNDER_REVIEW: S.REJECTED}),
    "approve": ("legal", ORDER_PAYLOAD, {S.UNDER_REVIEW: S.CONFISCATION_APPROVED}),
    "approve-under-appeal": ("legal", {**ORDER_PAYLOAD, "finality": "UNDER_APPEAL"},
                             {S.UNDER_REVIEW: S.ON_APPEAL}),
    "appeal": ("legal", {"reason": "appealed"}, {S.CONFISCATION_APPROVED: S.ON_APPEAL}),
    "resolve-appeal-upheld": ("legal", {"outcome": "UPHELD", "reason": "dismissed"},
                              {S.ON_APPEAL: S.CONFISCATION_APPROVED}),
    "resolve-appeal-overturned": ("legal", {"outcome": "OVERTURNED", "reason": "granted"},
                                  {S.ON_APPEAL: S.REJECTED}),
    "close": ("legal", {"reason": "done"}, {S.REJECTED: S.CLOSED, S.IN_RESERVE: S.CLOSED}),
}
ENDPOINT = {"approve-under-appeal": "approve", "resolve-appeal-upheld": "resolve-appeal",
            "resolve-appeal-overturned": "resolve-appeal"}


@pytest.mark.parametrize(("command", "state"), list(itertools.product(COMMANDS, S.values)))
def test_command_from_every_state(api, clerk, legal, command, state):
    case = attach_documents(CaseFactory(agency=clerk.agency, status=state))
    # Where the asset went, as the reserve side records it before a case may be closed
    # (nothing left behind: tests below refuse the move without one).
    disposed = {S.REJECTED: ("RELEASED", "release-1"), S.IN_RESERVE: ("IN_RESERVE", "t-1")}
    disposition, ref = disposed.get(state, ("", ""))
    SeizedAsset.objects.create(case=case, asset="OTHER", network="n/a", declared_amount=1,
                               verification_status="UNTRACKED", disposition=disposition,
                               disposition_ref=ref, disposed_at=timezone.now() if ref else None)
    if state in (S.ON_APPEAL, S.CONFISCATION_APPROVED, S.IN_TRANSFER, S.IN_RESERVE):
        ConfiscationOrder.objects.create(case=case, court="c", order_number="o",
                                         order_date="2026-01-01", document_sha256="a" * 64,
                                         finality="FINAL", recorded_by=legal)
    who, body, moves = COMMANDS[command]
    user = {"clerk": clerk, "legal": legal}[who]
    if who == "legal":
        body = {**body, "otp": otp(legal)}  # every legal decision takes a fresh code
    events_before = AuditEvent.objects.count()

    response = api(user).post(url(case.public_id, ENDPOINT.get(command, command)), body,
                              format="json")

    case.refresh_from_db()
    if who == "legal" and state == S.DRAFT:
        # A draft is the clerk's alone: for a legal officer it does not exist yet.
        assert response.status_code == 404
        assert case.status == state
        assert AuditEvent.objects.count() == events_before
    elif state in moves:
        assert response.status_code == 200, response.json()
        assert case.status == moves[state]
        assert response.json()["status"] == moves[state]
        assert AuditEvent.objects.count() > events_before
    else:  # a person's repeat included (core.statemachine): refused, nothing changes
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == "invalid_transition"
        assert case.status == state
        assert AuditEvent.objects.count() == events_before


def test_every_table_edge_is_a_command_or_custodys_own():
    """The table allows exactly the moves above plus custody's (transfer, reserve)."""
    by_commands = {(src, dst) for _, _, moves in COMMANDS.values() for src, dst in moves.items()}
    custody_moves = {(S.CONFISCATION_APPROVED, S.IN_TRANSFER),
                     (S.IN_TRANSFER, S.CONFISCATION_APPROVED), (S.IN_TRANSFER, S.IN_RESERVE),
                     (S.IN_RESERVE, S.IN_TRANSFER),
                     # every asset handed to the fund's custodian, or all released by order
                     (S.CONFISCATION_APPROVED, S.IN_RESERVE),
                     (S.CONFISCATION_APPROVED, S.CLOSED), (S.IN_TRANSFER, S.CLOSED)}
    assert CASE_TABLE.pairs() == by_commands | custody_moves


SYSTEM_MOVES = {  # written out from DESIGN §2, independently of the table
    CaseCommand.TRANSFER_PROPOSED: {S.CONFISCATION_APPROVED: S.IN_TRANSFER},
    CaseCommand.TRANSFER_RELEASED: {S.IN_TRANSFER: S.CONFISCATION_APPROVED},
    CaseCommand.SETTLED_IN_RESERVE: {S.IN_TRANSFER: S.IN_RESERVE},
    CaseCommand.RESERVE_REORGED: {S.IN_RESERVE: S.IN_TRANSFER},
    CaseCommand.ASSETS_HANDED_OVER: {S.CONFISCATION_APPROVED: S.IN_RESERVE},
    CaseCommand.ASSETS_RELEASED: {S.CONFISCATION_APPROVED: S.CLOSED, S.IN_TRANSFER: S.CLOSED},
}


@pytest.mark.parametrize(("command", "source"),
                         list(itertools.product(SYSTEM_MOVES, S.values)))
def test_system_moves_follow_the_table(command, source):
    case = CaseFactory(status=source)
    moves = SYSTEM_MOVES[command]
    events_before = AuditEvent.objects.count()
    try:
        with transaction.atomic():
            case_move_by_system(case=case, command=command)
        refused = False
    except TransitionNotAllowed:
        refused = True
    status = SeizureCase.objects.get(pk=case.pk).status
    if source in moves:
        assert not refused and status == moves[source]
        assert AuditEvent.objects.count() == events_before + 1
    elif source in moves.values():
        assert not refused and status == source  # a repeat: no-op
        assert AuditEvent.objects.count() == events_before
    else:
        assert refused and status == source


def test_system_commands_are_never_offered_to_people(clerk, legal, bank):
    for state in S.values:
        for user in (clerk, legal, bank, None):
            offered = CASE_TABLE.commands_for(state, user)
            assert not set(offered) & set(SYSTEM_MOVES)


def test_a_person_cannot_perform_a_system_command(legal):
    case = CaseFactory(status=S.CONFISCATION_APPROVED)
    from core.statemachine import apply_transition
    from intake.audit import IntakeAction

    with pytest.raises(TransitionNotAllowed), transaction.atomic():
        apply_transition(case, table=CASE_TABLE, command=CaseCommand.TRANSFER_PROPOSED,
                         actor=legal, action=IntakeAction.CASE_TRANSFER_PROPOSED)
    assert SeizureCase.objects.get(pk=case.pk).status == S.CONFISCATION_APPROVED


@pytest.mark.parametrize(("state", "command"), [
    (S.REJECTED, None), (S.IN_RESERVE, None),
    (S.IN_TRANSFER, CaseCommand.SETTLED_IN_RESERVE),
    (S.CONFISCATION_APPROVED, CaseCommand.ASSETS_HANDED_OVER),
    (S.IN_TRANSFER, CaseCommand.ASSETS_RELEASED),
])
def test_nothing_left_behind_refuses_in_reserve_or_closed(api, legal, state, command):
    """An asset with no disposition (here 1,500 USDT nobody handed over) keeps the case out
    of IN_RESERVE and CLOSED, for a person's close and the reserve side's moves alike."""
    case = CaseFactory(status=state)
    usdt = SeizedAsset.objects.create(case=case, asset="USDT", chain="tron", network="mainnet",
                                      declared_amount=1_500_000_000,
                                      verification_status="UNTRACKED")
    code = otp(legal)  # enrols legal first (audited): counted before the refusal below
    events_before = AuditEvent.objects.count()
    if command is None:
        reply = api(legal).post(url(case.public_id, "close"),
                                {"reason": "done", "otp": code}, format="json")
        assert reply.status_code == 409, reply.json()
        assert reply.json()["code"] == "assets_not_disposed"
        assert reply.json()["assets"] == [str(usdt.public_id)]
    else:
        from core.errors import Conflict

        with pytest.raises(Conflict) as refused, transaction.atomic():
            case_move_by_system(case=case, command=command)
        assert refused.value.code == "assets_not_disposed"
    assert SeizureCase.objects.get(pk=case.pk).status == state
    assert AuditEvent.objects.count() == events_before
