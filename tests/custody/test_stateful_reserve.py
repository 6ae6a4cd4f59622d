"""A hypothesis state machine over cases, transfers, approvals, deposits and the ledger
(issue 8): random sequences of commands by random people, through the services, with the
invariants checked after every step.

- A refused command (any DomainError) changes nothing: no status, no audit event, no
  journal entry, no approval.
- No status moves outside its transition table (cases, transfers, deposits).
- Nobody approves their own proposal (transfers, deposit attributions, a case they filed);
  a transfer past PROPOSED has its quorum of approvals of its current payload.
- Every journal entry balances to zero; each reserve wallet's balance is the sum of its
  lines and never negative; no coin is locked by two transfers.
- The watcher's repeats (the same chain report twice) change nothing.
- The audit chain verifies.

The chain is replaced by in-memory values (tests/custody/conftest.py no_chain); decisions
carry a StepUp for their actor (the second factor itself is tested in test_api_step_up and
tests/core). Each example runs in a savepoint rolled back at its end; the number of examples
and steps is bounded so the test stays well under a minute."""

import collections
import datetime as dt
import hashlib
import itertools

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from core.audit import verify_chain
from core.errors import DomainError
from core.models import AuditEvent
from core.second_factor import StepUp
from custody import services
from custody.models import Deposit, JournalEntry, Transfer, TransferApproval, TransferInput
from custody.models import TransferStatus as T
from custody.selectors import balances, counted_approvals, ledger_is_balanced
from custody.services.wallets import allocate_reserve_address
from custody.transitions import DEPOSIT_TABLE, TRANSFER_TABLE
from intake import services as intake
from intake.models import CaseStatus as S
from intake.models import Evidence, SeizureCase
from intake.transitions import CASE_TABLE
from tests.support.custody import fake_utxos, sign

pytestmark = pytest.mark.django_db

PEOPLE = ["clerk", "legal", "legal2", "bank", "bank2", "bank3", "auditor"]
# Anyone may try anything; the people whose work it is try more often, so that sequences
# reach the far states (quorum, signing, settlement, attribution), not only refusals.
ANYONE = st.sampled_from(PEOPLE)
MOSTLY_LEGAL = st.one_of(st.sampled_from(["legal", "legal2"]), ANYONE)
MOSTLY_BANK = st.one_of(st.sampled_from(["bank", "bank2", "bank3"]), ANYONE)
MOSTLY_CLERK = st.one_of(st.just("clerk"), ANYONE)
QUORUM_REACHED = {T.APPROVED, T.SIGNING, T.BROADCAST, T.CONFIRMING, T.SETTLED}
CASE_DECISIONS = {
    "return": intake.case_return_for_correction, "reject": intake.case_reject,
    "appeal": intake.case_record_appeal, "close": intake.case_close,
}
CHAIN_REPORTS = {"confirming": ("CONFIRMING", 1), "settled": ("CONFIRMED", 6),
                 "reorged": ("MEMPOOL", 0)}
BLOCK = {"block_hash": "11" * 32, "block_height": 300}


def proof(user):
    return StepUp(user_id=user.pk, device="totp", at=timezone.now())


def snapshot():
    return {
        "cases": dict(SeizureCase.objects.values_list("pk", "status")),
        "transfers": dict(Transfer.objects.values_list("pk", "status")),
        "deposits": dict(Deposit.objects.values_list("pk", "status")),
        "events": AuditEvent.objects.count(),
        "journal": JournalEntry.objects.count(),
        "approvals": TransferApproval.objects.count(),
        "evidence": Evidence.objects.count(),
    }


class ReserveMachine(RuleBasedStateMachine):
    world: dict = {}  # people and wallets, made once by the test below
    serial = itertools.count()
    done: collections.Counter = collections.Counter()  # commands performed, for the report

    cases = Bundle("cases")
    transfers = Bundle("transfers")
    deposits = Bundle("deposits")

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.people = self.world["people"]

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- every command through act(): refused → nothing changed; done → table moves only --
    def act(self, command, *args, **kwargs):
        before = snapshot()
        try:
            result = command(*args, **kwargs)
        except DomainError:
            assert snapshot() == before, f"a refused {command.__name__} changed something"
            self.done["refused"] += 1
            return None
        self.done[command.__name__] += 1
        after = snapshot()
        for kind, table in (("cases", CASE_TABLE), ("transfers", TRANSFER_TABLE),
                            ("deposits", DEPOSIT_TABLE)):
            pairs = table.pairs()
            for pk, status in after[kind].items():
                old = before[kind].get(pk)
                assert old is None or old == status or (old, status) in pairs, \
                    f"{kind} {pk} moved {old} → {status}: not in the table"
        return result

    def who(self, name):
        return self.people[name]

    # --- cases ----------------------------------------------------------------------------
    @rule(target=cases, sats=st.integers(10_000, 50_000_000), warrant=st.booleans())
    def file_case(self, sats, warrant):
        return self._file(sats, warrant)

    def _file(self, sats, warrant):
        clerk = self.who("clerk")
        n = next(self.serial)
        case = intake.case_create(actor=clerk, data={
            "case_number": f"HYP-{n}", "warrant_number": f"W-{n}",
            "warrant_date": dt.date(2026, 1, 5), "owner_name": "Suspect"})
        asset = intake.asset_add(case=case, actor=clerk, asset="BTC", network="regtest",
                                 declared_amount=sats)
        # The intake watcher's verdict (this machine's chain is in memory): coins leave
        # custody only from a verified asset.
        intake.asset_record_observation(asset_id=asset.pk, verified=True, observed_amount=sats,
                                        details={"sweeps": "in memory"})
        if warrant:
            self.add_document(case, clerk, Evidence.Kind.WARRANT)
        case.refresh_from_db()  # its custody address, given with the asset
        return case

    @rule(target=cases, sats=st.integers(10_000, 50_000_000))
    def confiscated_case(self, sats):
        """A case walked through intake by the right people, so the reserve's commands
        have something to work on (the other rules try everything else, by anyone)."""
        case = self._file(sats, True)
        legal = self.who("legal")
        intake.case_submit(case=case, actor=self.who("clerk"))
        intake.case_start_review(case=case, actor=legal)
        document = self.add_document(case, legal, Evidence.Kind.COURT_ORDER)
        intake.case_approve_confiscation(
            case=case, actor=legal, court="Court", order_number="2-2",
            order_date=dt.date(2026, 3, 1), document_sha256=document.sha256,
            finality="FINAL", step_up=proof(legal))
        case.refresh_from_db()
        return case

    def add_document(self, case, actor, kind):
        content = f"%PDF-1.4 {kind} {next(self.serial)}".encode()
        return intake.evidence_upload(case=case, actor=actor, kind=kind,
                                      uploaded_file=SimpleUploadedFile("doc.pdf", content))

    @rule(case=cases, actor=MOSTLY_CLERK)
    def add_warrant(self, case, actor):
        self.act(self.add_document, case, self.who(actor), Evidence.Kind.WARRANT)

    @rule(case=cases, actor=MOSTLY_CLERK)
    def submit(self, case, actor):
        self.act(intake.case_submit, case=case, actor=self.who(actor))

    @rule(case=cases, actor=MOSTLY_LEGAL)
    def start_review(self, case, actor):
        self.act(intake.case_start_review, case=case, actor=self.who(actor))

    @rule(case=cases, actor=MOSTLY_LEGAL, final=st.booleans(),
          upload=st.booleans())
    def record_order(self, case, actor, final, upload):
        person = self.who(actor)
        sha256 = hashlib.sha256(b"no such document").hexdigest()
        if upload:
            document = self.act(self.add_document, case, person, Evidence.Kind.COURT_ORDER)
            sha256 = document.sha256 if document else sha256
        self.act(intake.case_approve_confiscation, case=case, actor=person, court="Court",
                 order_number="2-1", order_date=dt.date(2026, 3, 1), document_sha256=sha256,
                 finality="FINAL" if final else "UNDER_APPEAL", step_up=proof(person))

    @rule(case=cases, actor=MOSTLY_LEGAL, decision=st.sampled_from(
        sorted(CASE_DECISIONS)))
    def decide(self, case, actor, decision):
        person = self.who(actor)
        self.act(CASE_DECISIONS[decision], case=case, actor=person, reason="because",
                 step_up=proof(person))

    @rule(case=cases, actor=MOSTLY_LEGAL, upheld=st.booleans())
    def resolve_appeal(self, case, actor, upheld):
        person = self.who(actor)
        self.act(intake.case_resolve_appeal, case=case, actor=person,
                 outcome="UPHELD" if upheld else "OVERTURNED", reason="decided",
                 step_up=proof(person))

    # --- transfers ------------------------------------------------------------------------
    @rule(target=transfers, case=cases, actor=MOSTLY_BANK)
    def propose(self, case, actor):
        case.refresh_from_db()
        if not case.custody_address:
            return multiple()
        utxos = fake_utxos(case, case.assets.get().declared_amount,
                           salt=str(next(self.serial)).encode())
        transfer = self.act(services.transfer_propose, actor=self.who(actor), case=case,
                            reserve_wallet=self.world["wallet"], utxos=utxos)
        return transfer if transfer is not None else multiple()

    @rule(target=transfers, sats=st.integers(100_000, 50_000_000))
    def proposed_transfer(self, sats):
        """A transfer proposed by the right person for a confiscated case: the quorum,
        signing and chain rules then act on it, by anyone."""
        case = self.confiscated_case(sats)
        utxos = fake_utxos(case, sats, salt=str(next(self.serial)).encode())
        return services.transfer_propose(actor=self.who("bank"), case=case,
                                         reserve_wallet=self.world["wallet"], utxos=utxos)

    @rule(transfer=transfers, actor=st.one_of(st.sampled_from(["bank2", "bank3"]), ANYONE),
          stale=st.sampled_from([False, False, False, True]))
    def approve(self, transfer, actor, stale):
        transfer.refresh_from_db()
        person = self.who(actor)
        self.act(services.transfer_approve, transfer=transfer, actor=person,
                 payload_hash="0" * 64 if stale else transfer.payload_hash,
                 step_up=proof(person))

    @rule(transfer=transfers, actor=ANYONE)
    def cancel(self, transfer, actor):
        self.act(services.transfer_cancel, transfer=transfer, actor=self.who(actor),
                 reason="changed our minds")

    @rule(transfer=transfers, signer=st.sampled_from(["c1", "c2"]))
    def upload_signature(self, transfer, signer):
        transfer.refresh_from_db()
        if not transfer.unsigned_psbt:
            return
        bank = self.who("bank")
        self.act(services.transfer_upload_signed, transfer=transfer, actor=bank,
                 psbt=sign(transfer.unsigned_psbt, signer), step_up=proof(bank))

    @rule(transfer=transfers)
    def broadcast(self, transfer):
        self.act(services.transfer_broadcast, transfer_id=transfer.pk)

    @rule(transfer=transfers, report=st.sampled_from(sorted(CHAIN_REPORTS)))
    def chain_reports(self, transfer, report):
        state, confirmations = CHAIN_REPORTS[report]
        block = BLOCK if confirmations else {}
        self.act(services.transfer_apply_chain_state, transfer_id=transfer.pk, state=state,
                 confirmations=confirmations, **block)
        # The watcher runs twice: the repeat is a no-op.
        before = snapshot()
        self.act(services.transfer_apply_chain_state, transfer_id=transfer.pk, state=state,
                 confirmations=confirmations, **block)
        assert snapshot() == before, "a repeated chain report changed something"

    # --- deposits -------------------------------------------------------------------------
    @rule(target=deposits, sats=st.integers(1_000, 900_000_000))
    def deposit_seen(self, sats):
        txid = hashlib.sha256(str(next(self.serial)).encode()).hexdigest()
        return services.deposit_observe(reserve_address=self.world["address"], txid=txid,
                                        vout=0, amount_sats=sats, confirmations=6)

    @rule(deposit=deposits, actor=MOSTLY_BANK,
          source=st.sampled_from(["STATE_MINING", "OTHER"]))
    def attribute(self, deposit, actor, source):
        person = self.who(actor)
        self.act(services.deposit_attribute, deposit=deposit, actor=person, source=source,
                 step_up=proof(person))

    @rule(deposit=deposits, actor=MOSTLY_BANK, approve=st.booleans())
    def decide_attribution(self, deposit, actor, approve):
        person = self.who(actor)
        if approve:
            self.act(services.deposit_attribution_approve, deposit=deposit, actor=person,
                     step_up=proof(person))
        else:
            self.act(services.deposit_attribution_reject, deposit=deposit, actor=person,
                     reason="not ours")

    @rule(deposit=deposits)
    def deposit_reorged(self, deposit):
        self.act(services.deposit_apply_chain_state, txid=deposit.txid, removed=True)
        before = snapshot()
        self.act(services.deposit_apply_chain_state, txid=deposit.txid, removed=True)
        assert snapshot() == before, "a repeated reorg changed something"

    # --- invariants -----------------------------------------------------------------------
    @invariant()
    def ledger_balances(self):
        assert ledger_is_balanced()
        for wallet in balances()["by_wallet"].values():
            assert wallet["sats"] >= 0
        assert balances()["total_sats"] >= 0

    @invariant()
    def quorum_and_four_eyes(self):
        for transfer in Transfer.objects.filter(status__in=QUORUM_REACHED):
            assert counted_approvals(transfer).count() >= transfer.approvals_required
        assert not TransferApproval.objects.filter(
            approver=F("transfer__proposed_by")).exists()
        assert not Deposit.objects.filter(
            attribution_approved_by=F("attributed_by")).exists()
        assert not SeizureCase.objects.filter(reviewer=F("filed_by")).exists()

    @invariant()
    def orders_rest_on_documents(self):
        for case in SeizureCase.objects.filter(confiscation_order__isnull=False):
            document = case.confiscation_order.document
            assert document.case_id == case.pk and document.kind == Evidence.Kind.COURT_ORDER
        submitted = SeizureCase.objects.exclude(status__in=[S.DRAFT])
        assert not submitted.exclude(evidence__kind__in=Evidence.SEIZURE_BASIS).exists()

    @invariant()
    def no_coin_in_two_transfers(self):
        assert not (TransferInput.objects.filter(locked=True).values("txid", "vout")
                    .annotate(n=Count("id")).filter(n__gt=1).exists())

    @invariant()
    def audit_chain_verifies(self):
        result = verify_chain()
        assert result.ok, result


def test_random_commands_by_random_people_keep_the_invariants(
        clerk, legal, legal2, bank, bank2, bank3, auditor, admin_user, custody_wallet,
        reserve_wallet, no_chain):
    ReserveMachine.world = {
        "people": {"clerk": clerk, "legal": legal, "legal2": legal2, "bank": bank,
                   "bank2": bank2, "bank3": bank3, "auditor": auditor},
        "wallet": reserve_wallet,
        "address": allocate_reserve_address(reserve_wallet),
    }
    run_state_machine_as_test(ReserveMachine, settings=settings(
        max_examples=12, stateful_step_count=25, deadline=None, database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck)))
    print(f"\ncommands performed: {dict(ReserveMachine.done)}")
    for command in ("transfer_approve", "deposit_attribute", "refused"):
        assert ReserveMachine.done[command], f"the machine never performed {command}"

