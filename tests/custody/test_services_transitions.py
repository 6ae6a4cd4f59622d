"""The command tables are the whole truth (custody.transitions).

Every (state, command) the transfer table allows is performable through its service or the
watcher path; every user command it refuses is a TransitionNotAllowed from the service and a
409 from the API, and changes nothing; repeats follow apply_transition's rule (a person's
repeat is refused like any command the table does not list; a watcher's or task's repeat is
a no-op; a self-loop is a re-entry, performed each time). The chain replaced by in-memory
values; transfers are walked to each state through the services.
"""

import pytest
from django.db import transaction

from chain.errors import TransactionRejected
from core.errors import Conflict, DomainError, ErrorCode, TransitionNotAllowed
from core.models import AuditEvent
from core.statemachine import apply_transition
from custody import chainio, services
from custody.audit import CustodyAction
from custody.models import (
    ApprovalStatus,
    Deposit,
    JournalEntry,
    SignedPsbtUpload,
    TransferApproval,
    TransferInput,
)
from custody.models import TransferStatus as T
from custody.transitions import TRANSFER_TABLE, WATCHED_STATES, Command
from intake.models import CaseAlert, CaseStatus
from tests.support.custody import fake_utxos, make_reserve_wallet, sign
from tests.support.factories import UserFactory
from tests.support.second_factor import enrol, fresh_step_up, otp

pytestmark = pytest.mark.django_db

REASON = "test"


class Ceremony:
    """A transfer of one case walked through the services to any state."""

    def __init__(self, *, case, wallet, bank, bank2, bank3, monkeypatch):
        self.case, self.wallet = case, wallet
        self.bank, self.bank2, self.bank3 = bank, bank2, bank3
        self.monkeypatch = monkeypatch
        self.utxos = fake_utxos(case, 100_000_000, 50_000_000)
        # The API's rebuild asks the node for the custody UTXOs: the same ones.
        monkeypatch.setattr(chainio, "custody_utxos", lambda address: self.utxos)

    def propose(self):
        return services.transfer_propose(actor=self.bank, case=self.case,
                                         reserve_wallet=self.wallet, utxos=self.utxos)

    def walk_to(self, state):
        if state == T.PROPOSED:
            return self.propose()
        source, command = WALK[state]
        transfer = self.walk_to(source)
        PERFORM[command](self, transfer)
        transfer.refresh_from_db()
        assert transfer.status == state, (state, transfer.status)
        return transfer

    # --- each command through its service, or the watcher path -------------------------
    def approve(self, transfer):
        for officer in (self.bank2, self.bank3):  # the second approval reaches the quorum
            services.transfer_approve(transfer=transfer, actor=officer,
                                      payload_hash=transfer.payload_hash,
                                      step_up=fresh_step_up(officer))

    def sign(self, transfer):
        """A signed copy from the next key holder (c1, then c2: 2 of 3 sign it fully)."""
        transfer.refresh_from_db()
        signer = "c2" if transfer.combined_psbt else "c1"
        services.transfer_upload_signed(transfer=transfer, actor=self.bank,
                                        psbt=sign(transfer.unsigned_psbt, signer),
                                        step_up=fresh_step_up(self.bank))

    def finish_signing(self, transfer):
        transfer.refresh_from_db()
        if not transfer.final_tx_hex:
            self.sign(transfer)

    def rebuild(self, transfer, fee_rate=25):
        services.transfer_rebuild(transfer=transfer, actor=self.bank, reason=REASON,
                                  utxos=self.utxos, fee_rate_sat_vb=fee_rate)

    def cancel(self, transfer):
        services.transfer_cancel(transfer=transfer, actor=self.bank, reason=REASON)

    def hold(self, transfer):
        """The watchers' path: the sweep behind its first input was double-spent."""
        first = transfer.inputs.order_by("pk").first()
        services.transfers_hold_for_vanished(txid=first.txid, why="the sweep was double-spent",
                                             details={"sweep": first.txid})

    def broadcast(self, transfer):
        self.finish_signing(transfer)
        services.transfer_broadcast(transfer_id=transfer.pk)

    def reject_broadcasts(self):
        def reject(raw_hex):
            raise TransactionRejected(-26, "mandatory-script-verify-flag-failed")

        self.monkeypatch.setattr(chainio, "broadcast", reject)

    def fail(self, transfer):
        self.finish_signing(transfer)
        self.reject_broadcasts()
        services.transfer_broadcast(transfer_id=transfer.pk)

    @staticmethod
    def chain(state, confirmations=0, block_hash=None, block_height=None):
        def report(self, transfer):
            services.transfer_apply_chain_state(
                transfer_id=transfer.pk, state=state, confirmations=confirmations,
                block_hash=block_hash, block_height=block_height)

        return report


BLOCK = {"block_hash": "11" * 32, "block_height": 200}

PERFORM = {
    Command.APPROVE: Ceremony.approve,
    Command.SIGN: Ceremony.sign,
    Command.REBUILD: Ceremony.rebuild,
    Command.CANCEL: Ceremony.cancel,
    Command.HOLD: Ceremony.hold,
    Command.BROADCAST: Ceremony.broadcast,
    Command.FAIL: Ceremony.fail,
    Command.CONFIRM: Ceremony.chain("CONFIRMING", 1, **BLOCK),
    Command.SETTLE: Ceremony.chain("CONFIRMED", 6, **BLOCK),
    Command.REORG: Ceremony.chain("MEMPOOL"),
    Command.REPLACE: Ceremony.chain("REPLACED"),
    Command.CONFLICT: Ceremony.chain("CONFLICTED"),
}

# How each state is reached (from where, by which command). SIGNING has one signature of
# the two needed; broadcast and fail sign it fully first.
WALK = {
    T.APPROVED: (T.PROPOSED, Command.APPROVE),
    T.SIGNING: (T.APPROVED, Command.SIGN),
    T.BROADCAST: (T.SIGNING, Command.BROADCAST),
    T.CONFIRMING: (T.BROADCAST, Command.CONFIRM),
    T.SETTLED: (T.CONFIRMING, Command.SETTLE),
    T.CANCELLED: (T.PROPOSED, Command.CANCEL),
    T.ON_HOLD: (T.APPROVED, Command.HOLD),
    T.FAILED: (T.SIGNING, Command.FAIL),
    T.REPLACED: (T.BROADCAST, Command.REPLACE),
    T.CONFLICTED: (T.BROADCAST, Command.CONFLICT),
}

# The audit actions of the transitions: the values auditors grep for.
ACTION = {
    Command.APPROVE: "transfer.approved",
    Command.SIGN: "transfer.signature_uploaded",
    Command.REBUILD: "transfer.rebuilt",
    Command.CANCEL: "transfer.cancelled",
    Command.HOLD: "transfer.held",
    Command.BROADCAST: "transfer.broadcast",
    Command.FAIL: "transfer.failed",
    Command.CONFIRM: "transfer.confirming",
    Command.SETTLE: "transfer.settled",
    Command.REORG: "transfer.reorged",
    Command.REPLACE: "transfer.replaced",
    Command.CONFLICT: "transfer.conflicted",
}

ALLOWED = sorted((t.source, t.command, t.target) for t in TRANSFER_TABLE.transitions())
USER_COMMANDS = sorted({t.command for t in TRANSFER_TABLE.transitions() if not t.by_system})
SYSTEM_COMMANDS = sorted({t.command for t in TRANSFER_TABLE.transitions() if t.by_system})


def refused(commands, *, as_system=False):
    """(state, command) pairs the table refuses: no transition from the state (for the
    system, a repeat, already in the command's target, is not refused but a no-op)."""
    return [(state, command) for command in commands for state in T.values
            if TRANSFER_TABLE.get(state, command) is None
            and not (as_system and state in TRANSFER_TABLE.targets_of(command))]


@pytest.fixture
def ceremony(case, reserve_wallet, bank, bank2, bank3, no_chain, monkeypatch):
    return Ceremony(case=case, wallet=reserve_wallet, bank=bank, bank2=bank2, bank3=bank3,
                    monkeypatch=monkeypatch)


def snapshot(transfer):
    transfer.refresh_from_db()
    return {"status": transfer.status, "events": AuditEvent.objects.count(),
            "approvals": TransferApproval.objects.count(),
            "uploads": SignedPsbtUpload.objects.count(),
            "locked": TransferInput.objects.filter(locked=True).count(),
            "journal": JournalEntry.objects.count(), "payload_hash": transfer.payload_hash,
            "combined": transfer.combined_psbt, "confirmations": transfer.confirmations}


def events_since(seq, obj):
    return list(AuditEvent.objects.filter(seq__gt=seq, object_id=str(obj.public_id))
                .order_by("seq"))


def last_seq():
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


# --- the table itself ------------------------------------------------------------------------
def test_every_command_of_the_table_has_a_way_to_be_performed():
    assert TRANSFER_TABLE.commands() == set(ACTION) == set(PERFORM)
    assert {str(c) for c in USER_COMMANDS} == {"approve", "cancel", "rebuild", "sign"}
    # Every state but the terminal ones is reached by some command.
    assert {t.target for t in TRANSFER_TABLE.transitions()} | {T.PROPOSED} == set(T.values)


def test_the_transfer_table_keeps_the_lifecycle_of_the_design():
    assert TRANSFER_TABLE.pairs() == {
        (T.PROPOSED, T.APPROVED), (T.PROPOSED, T.CANCELLED), (T.PROPOSED, T.PROPOSED),
        (T.APPROVED, T.SIGNING), (T.APPROVED, T.CANCELLED), (T.APPROVED, T.PROPOSED),
        (T.SIGNING, T.SIGNING), (T.SIGNING, T.BROADCAST), (T.SIGNING, T.FAILED),
        (T.SIGNING, T.CANCELLED), (T.SIGNING, T.PROPOSED),
        (T.BROADCAST, T.CONFIRMING), (T.BROADCAST, T.REPLACED), (T.BROADCAST, T.CONFLICTED),
        (T.CONFIRMING, T.SETTLED), (T.CONFIRMING, T.BROADCAST), (T.CONFIRMING, T.REPLACED),
        (T.CONFIRMING, T.CONFLICTED),
        (T.SETTLED, T.BROADCAST), (T.SETTLED, T.CONFLICTED),
        # a vanished input holds a pending transfer; a held one can only be cancelled
        (T.PROPOSED, T.ON_HOLD), (T.APPROVED, T.ON_HOLD), (T.SIGNING, T.ON_HOLD),
        (T.ON_HOLD, T.CANCELLED),
    }
    assert WATCHED_STATES == {T.SIGNING, T.BROADCAST, T.CONFIRMING, T.SETTLED, T.REPLACED,
                              T.CONFLICTED}


# --- everything the table allows is performable ------------------------------------------
@pytest.mark.parametrize(("source", "command", "target"), ALLOWED,
                         ids=[f"{s}-{c}" for s, c, _ in ALLOWED])
def test_every_transition_the_table_allows_is_performable(ceremony, source, command, target):
    transfer = ceremony.walk_to(source)
    seq = last_seq()
    PERFORM[command](ceremony, transfer)
    transfer.refresh_from_db()
    assert transfer.status == target
    moves = [(e.action, e.before.get("status"), e.after.get("status"))
             for e in events_since(seq, transfer) if e.before and "status" in e.before]
    assert moves[-1] == (ACTION[command], source, target)


def test_a_release_unlocks_the_coins_and_gives_the_case_back(ceremony):
    """The case moves custody causes are intake's commands, with intake's actions."""
    cancelled = ceremony.walk_to(T.CANCELLED)
    case_actions = list(AuditEvent.objects.filter(object_id=str(ceremony.case.public_id))
                        .order_by("seq").values_list("action", flat=True))
    assert case_actions[-2:] == ["case.transfer_proposed", "case.transfer_released"]
    assert cancelled.inputs.filter(locked=True).count() == 0
    failed = ceremony.walk_to(T.FAILED)
    ceremony.case.refresh_from_db()
    assert ceremony.case.status == CaseStatus.CONFISCATION_APPROVED
    assert AuditEvent.objects.filter(object_id=str(ceremony.case.public_id)).latest(
        "seq").action == "case.transfer_released"
    assert failed.inputs.filter(locked=True).count() == 0
    assert "mandatory-script-verify-flag-failed" in failed.failure_reason


# Where the watchers saw more than one step at once: the transaction seen on chain before
# our broadcast call came back (broadcast first), or straight at the settlement threshold
# (confirm first). Each step is performed, with its own audit event.
SKIPS = [(T.SIGNING, "MEMPOOL", [T.BROADCAST]),
         (T.SIGNING, "CONFIRMING", [T.BROADCAST, T.CONFIRMING]),
         (T.SIGNING, "CONFIRMED", [T.BROADCAST, T.CONFIRMING, T.SETTLED]),
         (T.SIGNING, "REPLACED", [T.BROADCAST, T.REPLACED]),
         (T.SIGNING, "CONFLICTED", [T.BROADCAST, T.CONFLICTED]),
         (T.BROADCAST, "CONFIRMED", [T.CONFIRMING, T.SETTLED])]


@pytest.mark.parametrize(("source", "state", "path"), SKIPS,
                         ids=[f"{s}-{state}" for s, state, _ in SKIPS])
def test_the_watcher_path_takes_the_steps_the_chain_skipped(ceremony, source, state, path):
    transfer = ceremony.walk_to(source)
    seq = last_seq()
    ceremony.chain(state, 6, **BLOCK)(ceremony, transfer)
    transfer.refresh_from_db()
    assert [e.after["status"] for e in events_since(seq, transfer)
            if e.after and "status" in e.after] == path
    assert transfer.status == path[-1]


# --- everything the table refuses is refused -------------------------------------------------
def _call_service(ceremony, command, transfer):
    if command == Command.APPROVE:
        services.transfer_approve(transfer=transfer, actor=ceremony.bank2,
                                  payload_hash=transfer.payload_hash,
                                  step_up=fresh_step_up(ceremony.bank2))
    elif command == Command.SIGN:
        services.transfer_upload_signed(transfer=transfer, actor=ceremony.bank,
                                        psbt=sign(transfer.unsigned_psbt, "c3"),
                                        step_up=fresh_step_up(ceremony.bank))
    elif command == Command.REBUILD:
        ceremony.rebuild(transfer, fee_rate=40)
    else:
        ceremony.cancel(transfer)


def _call_api(api, ceremony, command, transfer):
    url = f"/api/v1/transfers/{transfer.public_id}/"
    if command == Command.APPROVE:
        return api(ceremony.bank2).post(url + "approve/",
                                        {"payload_hash": transfer.payload_hash,
                                         "otp": otp(ceremony.bank2)}, format="json")
    if command == Command.SIGN:
        return api(ceremony.bank).post(url + "signatures/",
                                       {"psbt": sign(transfer.unsigned_psbt, "c3"),
                                        "otp": otp(ceremony.bank)}, format="json")
    if command == Command.REBUILD:
        return api(ceremony.bank).post(url + "rebuild/",
                                       {"reason": REASON, "fee_rate_sat_vb": 40}, format="json")
    return api(ceremony.bank).post(url + "cancel/", {"reason": REASON}, format="json")


REFUSED_USER = refused(USER_COMMANDS)


@pytest.mark.parametrize(("state", "command"), REFUSED_USER,
                         ids=[f"{s}-{c}" for s, c in REFUSED_USER])
def test_every_user_command_the_table_refuses_is_a_409_that_changes_nothing(
        api, ceremony, state, command):
    transfer = ceremony.walk_to(state)
    before = snapshot(transfer)
    # A held transfer says why it takes no signatures: its own stable code.
    code = (ErrorCode.TRANSFER_ON_HOLD if (state, command) == (T.ON_HOLD, Command.SIGN)
            else ErrorCode.INVALID_TRANSITION)
    with pytest.raises(TransitionNotAllowed if code == ErrorCode.INVALID_TRANSITION
                       else Conflict) as info:
        _call_service(ceremony, command, transfer)
    assert info.value.code == code
    assert info.value.extra["current_status"] == state
    assert snapshot(transfer) == before
    reply = _call_api(api, ceremony, command, transfer)
    assert (reply.status_code, reply.json()["code"]) == (409, code)
    assert snapshot(transfer) == before


REFUSED_CHAIN = [(s, c) for s, c in refused(SYSTEM_COMMANDS, as_system=True)
                 if c not in (Command.BROADCAST, Command.FAIL, Command.HOLD)
                 # the two skips the watcher path takes (tested above)
                 and s != T.SIGNING and (s, c) != (T.BROADCAST, Command.SETTLE)]


@pytest.mark.parametrize(("state", "command"), REFUSED_CHAIN,
                         ids=[f"{s}-{c}" for s, c in REFUSED_CHAIN])
def test_chain_news_the_table_refuses_changes_nothing(ceremony, state, command):
    """News about a transfer never signed, cancelled or failed is ignored; news that
    contradicts the table about one the chain has seen is refused."""
    transfer = ceremony.walk_to(state)
    before = snapshot(transfer)
    if state in WATCHED_STATES:
        with pytest.raises(TransitionNotAllowed):
            PERFORM[command](ceremony, transfer)
    else:
        PERFORM[command](ceremony, transfer)
    assert snapshot(transfer) == before


REFUSED_HOLD = refused([Command.HOLD], as_system=True)


@pytest.mark.parametrize("state", [s for s, _ in REFUSED_HOLD])
def test_a_hold_of_anything_but_a_pending_transfer_changes_nothing(ceremony, state):
    """Only a transfer not yet sent is held when an input vanishes: one on the node is the
    watchers' to judge (replaced, conflicted), one cancelled or failed has nothing left."""
    transfer = ceremony.walk_to(state)
    before = snapshot(transfer)
    assert CaseAlert.objects.filter(kind=CaseAlert.Kind.TRANSFER_ON_HOLD).count() == 0
    PERFORM[Command.HOLD](ceremony, transfer)
    assert snapshot(transfer) == before
    assert CaseAlert.objects.filter(kind=CaseAlert.Kind.TRANSFER_ON_HOLD).count() == 0


REFUSED_SENDING = refused([Command.BROADCAST, Command.FAIL], as_system=True)


@pytest.mark.parametrize(("state", "command"), REFUSED_SENDING,
                         ids=[f"{s}-{c}" for s, c in REFUSED_SENDING])
def test_a_broadcast_of_anything_but_a_signed_transfer_changes_nothing(ceremony, state,
                                                                        command):
    """The broadcast task is safe to run twice, and late: it sends only what waits to be
    sent (a fully signed SIGNING transfer), whatever the node would answer."""
    transfer = ceremony.walk_to(state)
    before = snapshot(transfer)
    if command == Command.FAIL:
        ceremony.reject_broadcasts()
    services.transfer_broadcast(transfer_id=transfer.pk)
    assert snapshot(transfer) == before


def test_a_partly_signed_transfer_is_not_sent(ceremony):
    transfer = ceremony.walk_to(T.SIGNING)
    before = snapshot(transfer)
    services.transfer_broadcast(transfer_id=transfer.pk)
    assert snapshot(transfer) == before


def test_system_commands_are_refused_to_people(ceremony):
    transfer = ceremony.walk_to(T.CONFIRMING)
    for command in (Command.SETTLE, Command.REORG, Command.CONFLICT):
        with transaction.atomic(), pytest.raises(TransitionNotAllowed):
            apply_transition(transfer, table=TRANSFER_TABLE, command=command,
                             actor=ceremony.bank, action=CustodyAction.TRANSFER_SETTLED)
    transfer.refresh_from_db()
    assert transfer.status == T.CONFIRMING


# --- repeats: one rule ---------------------------------------------------------------------
def test_a_person_repeating_a_command_is_refused(api, ceremony):
    """Two officers deciding at once must not both be told they decided; a retried request
    sends its Idempotency-Key and gets the first reply replayed."""
    transfer = ceremony.walk_to(T.CANCELLED)
    before = snapshot(transfer)
    with pytest.raises(TransitionNotAllowed):
        ceremony.cancel(transfer)
    reply = api(ceremony.bank).post(f"/api/v1/transfers/{transfer.public_id}/cancel/",
                                    {"reason": "again"}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (409, "invalid_transition")
    assert snapshot(transfer) == before


def test_an_approval_after_the_quorum_is_refused(ceremony):
    transfer = ceremony.walk_to(T.APPROVED)
    latecomer = UserFactory(username="bank4", roles=["bank_officer"])
    enrol(latecomer)
    before = snapshot(transfer)
    with pytest.raises(TransitionNotAllowed):
        services.transfer_approve(transfer=transfer, actor=latecomer,
                                  payload_hash=transfer.payload_hash,
                                  step_up=fresh_step_up(latecomer))
    assert snapshot(transfer) == before


def test_a_rebuild_is_a_re_entry_each_time_the_payload_changes(ceremony):
    transfer = ceremony.walk_to(T.APPROVED)
    seq = last_seq()
    ceremony.rebuild(transfer, fee_rate=25)
    ceremony.rebuild(transfer, fee_rate=30)
    rebuilt = [(e.before["status"], e.after["status"]) for e in events_since(seq, transfer)
               if e.action == "transfer.rebuilt"]
    assert rebuilt == [(T.APPROVED, T.PROPOSED), (T.PROPOSED, T.PROPOSED)]
    before = snapshot(transfer)
    ceremony.rebuild(transfer, fee_rate=30)  # nothing changed: nothing to rebuild
    assert snapshot(transfer) == before


def test_each_signed_copy_is_a_re_entry_of_signing(ceremony):
    transfer = ceremony.walk_to(T.APPROVED)
    seq = last_seq()
    ceremony.sign(transfer)
    ceremony.sign(transfer)
    transfer.refresh_from_db()
    first, second = [e for e in events_since(seq, transfer)
                     if e.action == "transfer.signature_uploaded"]
    assert (first.before["status"], first.after["status"]) == (T.APPROVED, T.SIGNING)
    assert (second.before["status"], second.after["status"]) == (T.SIGNING, T.SIGNING)
    assert (first.after["fully_signed"], second.after["fully_signed"]) == (False, True)
    assert transfer.status == T.SIGNING and transfer.final_tx_hex
    before = snapshot(transfer)
    with pytest.raises(DomainError) as info:  # fully signed: nothing more to take
        services.transfer_upload_signed(transfer=transfer, actor=ceremony.bank,
                                        psbt=sign(transfer.unsigned_psbt, "c3"),
                                        step_up=fresh_step_up(ceremony.bank))
    assert info.value.code == ErrorCode.INVALID_TRANSITION
    assert snapshot(transfer) == before


def test_the_broadcast_task_run_twice_sends_once(ceremony, no_chain):
    transfer = ceremony.walk_to(T.BROADCAST)
    before = snapshot(transfer)
    services.transfer_broadcast(transfer_id=transfer.pk)
    assert snapshot(transfer) == before
    assert len(no_chain["broadcast"]) == 1


def test_repeated_chain_news_only_refreshes_the_nodes_view(ceremony):
    transfer = ceremony.walk_to(T.SETTLED)
    before = snapshot(transfer)
    ceremony.chain("CONFIRMED", 7, **BLOCK)(ceremony, transfer)
    assert snapshot(transfer) == {**before, "confirmations": 7}


def test_repeated_chain_news_of_the_mempool_writes_no_event(ceremony):
    transfer = ceremony.walk_to(T.BROADCAST)
    before = snapshot(transfer)
    ceremony.chain("MEMPOOL")(ceremony, transfer)
    assert snapshot(transfer) == before


def test_a_person_repeating_a_wallet_command_is_refused(admin_user, bank, bank2):
    wallet = make_reserve_wallet(admin=admin_user, approver=bank, signers=("q1", "q2", "q3"))
    with pytest.raises(TransitionNotAllowed):
        services.reserve_wallet_approve(wallet=wallet, actor=bank2,
                                        step_up=fresh_step_up(bank2))
    services.reserve_wallet_retire(wallet=wallet, actor=admin_user, reason="rotated")
    events = AuditEvent.objects.count()
    with pytest.raises(TransitionNotAllowed):
        services.reserve_wallet_retire(wallet=wallet, actor=admin_user, reason="again")
    wallet.refresh_from_db()
    assert (wallet.status, wallet.approved_by) == (ApprovalStatus.RETIRED, bank)
    assert AuditEvent.objects.count() == events


def test_a_superseded_policy_is_audited(admin_user, bank):
    wallet = make_reserve_wallet(admin=admin_user, approver=bank, signers=("s1", "s2", "s3"))
    first = wallet.policies.get(status=ApprovalStatus.ACTIVE)
    second = services.quorum_policy_propose(wallet=wallet, actor=admin_user,
                                            tiers=[{"min_amount_sats": 0, "approvals": 3}])
    services.quorum_policy_approve(policy=second, actor=bank,
                                   step_up=fresh_step_up(bank))
    event = AuditEvent.objects.filter(object_id=str(first.public_id)).latest("seq")
    assert (event.action, event.before["status"], event.after["status"]) == (
        "quorum_policy.superseded", ApprovalStatus.ACTIVE, ApprovalStatus.SUPERSEDED)


def test_deposits_a_repeated_attribution_is_refused_a_repeated_reorg_is_a_no_op(
        api, ceremony):
    transfer = ceremony.walk_to(T.PROPOSED)
    deposit = services.deposit_observe(reserve_address=transfer.destination, txid="cd" * 32,
                                       vout=0, amount_sats=625_000_000, confirmations=6)
    services.deposit_attribute(deposit=deposit, actor=ceremony.bank, source="STATE_MINING",
                               step_up=fresh_step_up(ceremony.bank))
    services.deposit_attribution_approve(deposit=deposit, actor=ceremony.bank3,
                                         step_up=fresh_step_up(ceremony.bank3))
    events, journal = AuditEvent.objects.count(), JournalEntry.objects.count()
    with pytest.raises(TransitionNotAllowed):
        services.deposit_attribute(deposit=deposit, actor=ceremony.bank2, source="OTHER",
                                   step_up=fresh_step_up(ceremony.bank2))
    reply = api(ceremony.bank).post(f"/api/v1/deposits/{deposit.public_id}/attribute/",
                                    {"source": "OTHER"}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (409, "invalid_transition")
    deposit.refresh_from_db()
    assert (deposit.status, deposit.source) == (Deposit.Status.ATTRIBUTED, "STATE_MINING")
    assert (AuditEvent.objects.count(), JournalEntry.objects.count()) == (events, journal)
    services.deposit_apply_chain_state(txid="cd" * 32, removed=True)
    events = AuditEvent.objects.count()
    services.deposit_apply_chain_state(txid="cd" * 32, removed=True)
    deposit.refresh_from_db()
    assert (deposit.status, AuditEvent.objects.count()) == (Deposit.Status.REVERSED, events)


# --- what the API offers, and what the audit record holds ------------------------------------
def test_allowed_transitions_are_the_requesting_users(api, ceremony, auditor):
    transfer = ceremony.walk_to(T.PROPOSED)
    url = f"/api/v1/transfers/{transfer.public_id}/"
    assert api(ceremony.bank).get(url).json()["allowed_transitions"] == [
        "APPROVED", "CANCELLED", "PROPOSED"]
    assert api(auditor).get(url).json()["allowed_transitions"] == []
    ceremony.approve(transfer)
    ceremony.sign(transfer)
    listed = api(ceremony.bank).get("/api/v1/transfers/").json()["results"][0]
    assert listed["allowed_transitions"] == ["CANCELLED", "PROPOSED", "SIGNING"]  # no node's


def test_every_custody_event_is_an_audit_action_member(ceremony, monkeypatch):
    settled = ceremony.walk_to(T.SETTLED)
    assert settled.journal_entries.count() == 1
    deposit = services.deposit_observe(reserve_address=settled.destination, txid="ce" * 32,
                                       vout=0, amount_sats=1_000_000, confirmations=6)
    services.deposit_attribute(deposit=deposit, actor=ceremony.bank, source="OTHER",
                               step_up=fresh_step_up(ceremony.bank))
    services.deposit_attribution_approve(deposit=deposit, actor=ceremony.bank2,
                                         step_up=fresh_step_up(ceremony.bank2))
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "transfer.proposed", "transfer.approval_given", "transfer.settled", "ledger.posted",
        "case.transfer_proposed", "case.in_reserve", "deposit.seen", "deposit.attributed"}
