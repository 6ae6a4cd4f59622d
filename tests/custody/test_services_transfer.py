"""The transfer ceremony through the services, with the chain replaced by in-memory values."""

import pytest
from embit.psbt import PSBT
from embit.script import Script

from core.errors import DomainError, ErrorCode
from core.models import AuditEvent
from custody import services
from custody.chain_handlers import is_approved_spend
from custody.models import (
    FundSource,
    JournalEntry,
    LedgerAccount,
    LedgerLine,
    SignedPsbtUpload,
    Transfer,
    TransferApproval,
    TransferInput,
    TransferStatus,
)
from custody.selectors import balances, counted_approvals, ledger_is_balanced
from intake.models import CaseAlert, CaseStatus, ConfiscationOrder
from tests.support.custody import (
    fake_utxos,
    forge_signature,
    make_confiscated_case,
    sign,
    sign_with_foreign_key,
)
from tests.support.second_factor import fresh_step_up

pytestmark = pytest.mark.django_db


def snapshot(transfer=None):
    state = {
        "events": AuditEvent.objects.count(),
        "transfers": Transfer.objects.count(),
        "approvals": TransferApproval.objects.count(),
        "uploads": SignedPsbtUpload.objects.count(),
        "inputs": TransferInput.objects.filter(locked=True).count(),
    }
    if transfer is not None:
        transfer.refresh_from_db()
        state.update(status=transfer.status, combined=transfer.combined_psbt,
                     payload_hash=transfer.payload_hash)
    return state


DECISIONS = {"transfer_approve", "transfer_upload_signed"}


def refused(code, func, *args, **kwargs):
    if func.__name__ in DECISIONS and "actor" in kwargs:  # given like any decision
        kwargs.setdefault("step_up", fresh_step_up(kwargs["actor"]))
    with pytest.raises(DomainError) as info:
        func(*args, **kwargs)
    assert info.value.code == code, info.value.detail
    return info.value


@pytest.fixture
def proposed(case, reserve_wallet, bank, no_chain):
    return services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                     utxos=fake_utxos(case, 100_000_000, 50_000_000))


@pytest.fixture
def approved(proposed, bank2, bank3):
    for officer in (bank2, bank3):
        services.transfer_approve(transfer=proposed, actor=officer,
                                  payload_hash=proposed.payload_hash,
                                  step_up=fresh_step_up(officer))
    proposed.refresh_from_db()
    assert proposed.status == TransferStatus.APPROVED
    return proposed


def test_propose_builds_the_payload_and_locks_the_coins(proposed, case, reserve_wallet):
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_TRANSFER
    assert proposed.status == TransferStatus.PROPOSED
    assert proposed.input_total_sats == 150_000_000
    assert proposed.amount_sats + proposed.fee_sats == proposed.input_total_sats
    assert proposed.fee_sats == proposed.fee_rate_sat_vb * 263  # 2 inputs, 2-of-3 P2WSH
    assert proposed.destination.wallet == reserve_wallet
    assert proposed.payload["outputs"][0]["address"] == proposed.destination.address
    assert proposed.approvals_required == 2
    psbt = PSBT.from_string(proposed.unsigned_psbt)
    assert psbt.tx.txid().hex() == proposed.unsigned_txid
    for inp in psbt.inputs:
        assert inp.witness_utxo and inp.non_witness_utxo and inp.witness_script
        assert len(inp.bip32_derivations) == 3
    assert TransferInput.objects.filter(transfer=proposed, locked=True).count() == 2


def test_the_whole_ceremony_to_settlement_and_a_deep_reorg(
        approved, case, bank, no_chain, django_capture_on_commit_callbacks, monkeypatch):
    from custody import tasks

    services.transfer_upload_signed(transfer=approved, actor=bank,
                                    psbt=sign(approved.unsigned_psbt, "c1"),
                                    step_up=fresh_step_up(bank))
    approved.refresh_from_db()
    assert approved.status == TransferStatus.SIGNING and not approved.final_tx_hex
    monkeypatch.setattr(tasks.broadcast_transfer_task, "delay",
                        lambda pk: services.transfer_broadcast(transfer_id=pk))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.transfer_upload_signed(transfer=approved, actor=bank,
                                        psbt=sign(approved.unsigned_psbt, "c3"),
                                        step_up=fresh_step_up(bank))
    assert len(callbacks) == 1
    approved.refresh_from_db()
    assert approved.status == TransferStatus.BROADCAST
    assert approved.txid == approved.unsigned_txid
    assert no_chain["broadcast"] == [approved.final_tx_hex]
    assert no_chain["watch"][0]["txid"] == approved.txid
    assert is_approved_spend(approved.txid, [(i.txid, i.vout) for i in approved.inputs.all()])
    assert not is_approved_spend("ab" * 32, [])

    services.transfer_apply_chain_state(transfer_id=approved.pk, state="CONFIRMING",
                                        confirmations=1, block_hash="11" * 32, block_height=200)
    services.transfer_apply_chain_state(transfer_id=approved.pk, state="SETTLED",
                                        confirmations=6, block_hash="11" * 32, block_height=200)
    approved.refresh_from_db()
    case.refresh_from_db()
    assert approved.status == TransferStatus.SETTLED
    assert case.status == CaseStatus.IN_RESERVE
    totals = balances()
    assert totals["total_sats"] == approved.amount_sats
    assert totals["by_case"][str(case.public_id)]["sats"] == approved.amount_sats
    assert totals["by_source"] == {"SEIZURE": approved.amount_sats}
    assert ledger_is_balanced()
    # Settling twice writes nothing more.
    services.transfer_apply_chain_state(transfer_id=approved.pk, state="SETTLED",
                                        confirmations=7, block_hash="11" * 32, block_height=200)
    assert JournalEntry.objects.count() == 1

    # A reorg deeper than the threshold takes the block away: a compensating entry, an alert.
    services.transfer_apply_chain_state(transfer_id=approved.pk, state="MEMPOOL")
    approved.refresh_from_db()
    case.refresh_from_db()
    assert approved.status == TransferStatus.BROADCAST
    assert case.status == CaseStatus.IN_TRANSFER
    reversal = JournalEntry.objects.get(kind=JournalEntry.Kind.TRANSFER_REVERSED)
    assert reversal.reverses.kind == JournalEntry.Kind.TRANSFER_SETTLED
    assert balances()["total_sats"] == 0 and ledger_is_balanced()
    assert CaseAlert.objects.filter(case=case, kind=CaseAlert.Kind.REORG,
                                    resolved_at__isnull=True).count() == 1
    # Mined again: settled again, credited again (a new entry, never an edit).
    services.transfer_apply_chain_state(transfer_id=approved.pk, state="SETTLED",
                                        confirmations=6, block_hash="22" * 32, block_height=201)
    assert balances()["total_sats"] == approved.amount_sats
    assert JournalEntry.objects.count() == 3


def test_the_proposer_may_not_approve(proposed, bank):
    before = snapshot(proposed)
    refused(ErrorCode.OWN_TRANSFER, services.transfer_approve, transfer=proposed, actor=bank,
            payload_hash=proposed.payload_hash)
    assert snapshot(proposed) == before


def test_the_same_officer_may_not_approve_twice(proposed, bank2):
    services.transfer_approve(transfer=proposed, actor=bank2, payload_hash=proposed.payload_hash,
                              step_up=fresh_step_up(bank2))
    before = snapshot(proposed)
    refused(ErrorCode.ALREADY_APPROVED, services.transfer_approve, transfer=proposed,
            actor=bank2, payload_hash=proposed.payload_hash)
    assert snapshot(proposed) == before
    assert counted_approvals(proposed).count() == 1


def test_an_approval_of_another_payload_is_refused(proposed, bank2):
    before = snapshot(proposed)
    refused(ErrorCode.PAYLOAD_CHANGED, services.transfer_approve, transfer=proposed,
            actor=bank2, payload_hash="0" * 64)
    assert snapshot(proposed) == before


def test_a_changed_payload_invalidates_every_approval(approved, case, bank, bank2):
    old_hash = approved.payload_hash
    services.transfer_rebuild(transfer=approved, actor=bank, reason="fee estimate moved",
                              utxos=fake_utxos(case, 100_000_000, 50_000_000),
                              fee_rate_sat_vb=25)
    approved.refresh_from_db()
    assert approved.payload_hash != old_hash
    assert approved.status == TransferStatus.PROPOSED
    assert counted_approvals(approved).count() == 0
    assert TransferApproval.objects.filter(transfer=approved).count() == 2  # kept as history
    services.transfer_approve(transfer=approved, actor=bank2,
                              payload_hash=approved.payload_hash,
                              step_up=fresh_step_up(bank2))
    assert counted_approvals(approved).count() == 1


@pytest.mark.parametrize("tamper", ["output_amount", "fee", "output_address"])
def test_a_psbt_with_a_changed_output_amount_or_fee_is_refused(approved, bank, tamper):
    psbt = PSBT.from_string(sign(approved.unsigned_psbt, "c1"))
    out = psbt.outputs[0]
    if tamper == "output_amount":
        out.value -= 1000  # the fee grows by the same
    elif tamper == "fee":
        out.value += 500  # the fee shrinks
    else:
        out.script_pubkey = Script(bytes.fromhex("0014" + "ab" * 20))
    before = snapshot(approved)
    refused(ErrorCode.PSBT_MISMATCH, services.transfer_upload_signed, transfer=approved,
            actor=bank, psbt=psbt.to_string())
    assert snapshot(approved) == before


def test_a_psbt_claiming_another_input_amount_is_refused(approved, bank):
    psbt = PSBT.from_string(sign(approved.unsigned_psbt, "c1"))
    psbt.inputs[0].witness_utxo.value += 1
    refused(ErrorCode.PSBT_MISMATCH, services.transfer_upload_signed, transfer=approved,
            actor=bank, psbt=psbt.to_string())


def test_a_signature_from_a_key_outside_the_descriptor_is_refused(approved, bank):
    before = snapshot(approved)
    refused(ErrorCode.SIGNATURE_FOREIGN_KEY, services.transfer_upload_signed,
            transfer=approved, actor=bank, psbt=sign_with_foreign_key(approved.unsigned_psbt))
    assert snapshot(approved) == before


def test_a_signature_that_does_not_verify_is_refused(approved, bank):
    before = snapshot(approved)
    refused(ErrorCode.SIGNATURE_INVALID, services.transfer_upload_signed, transfer=approved,
            actor=bank, psbt=forge_signature(approved.unsigned_psbt, "c2"))
    assert snapshot(approved) == before


def test_signatures_before_approval_and_duplicates_are_refused(proposed, approved, bank):
    signed = sign(approved.unsigned_psbt, "c1")
    services.transfer_upload_signed(transfer=approved, actor=bank, psbt=signed,
                                    step_up=fresh_step_up(bank))
    before = snapshot(approved)
    refused(ErrorCode.NO_NEW_SIGNATURES, services.transfer_upload_signed, transfer=approved,
            actor=bank, psbt=signed)
    refused(ErrorCode.INVALID_PSBT, services.transfer_upload_signed, transfer=approved,
            actor=bank, psbt="not a psbt")
    assert snapshot(approved) == before


def test_a_transfer_on_a_case_under_appeal_is_refused(agency, custody_wallet, reserve_wallet,
                                                      bank, no_chain):
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet,
                                 status=CaseStatus.ON_APPEAL,
                                 finality=ConfiscationOrder.Finality.UNDER_APPEAL)
    before = snapshot()
    refused(ErrorCode.CASE_NOT_TRANSFERABLE, services.transfer_propose, actor=bank, case=case,
            reserve_wallet=reserve_wallet, utxos=fake_utxos(case, 10_000_000))
    assert snapshot() == before


def test_a_rejected_case_is_refused(agency, custody_wallet, reserve_wallet, bank, no_chain):
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet,
                                 status=CaseStatus.REJECTED)
    refused(ErrorCode.CASE_NOT_TRANSFERABLE, services.transfer_propose, actor=bank, case=case,
            reserve_wallet=reserve_wallet, utxos=fake_utxos(case, 10_000_000))


def test_a_second_transfer_spending_locked_coins_is_refused(approved, case, reserve_wallet,
                                                            bank, no_chain):
    utxos = fake_utxos(case, 100_000_000, 50_000_000)
    # The first transfer is settled (its coins stay locked); the case is put back by hand
    # and the node's answer is stale: the same coins again.
    services.transfer_upload_signed(transfer=approved, actor=bank,
                                    psbt=sign(approved.unsigned_psbt, "c1"),
                                    step_up=fresh_step_up(bank))
    services.transfer_upload_signed(transfer=approved, actor=bank,
                                    psbt=sign(approved.unsigned_psbt, "c2"),
                                    step_up=fresh_step_up(bank))
    services.transfer_broadcast(transfer_id=approved.pk)
    services.transfer_apply_chain_state(transfer_id=approved.pk, state="SETTLED",
                                        confirmations=6, block_hash="33" * 32, block_height=9)
    type(case).objects.filter(pk=case.pk).update(status=CaseStatus.CONFISCATION_APPROVED)
    before = snapshot()
    refused(ErrorCode.COINS_LOCKED, services.transfer_propose, actor=bank, case=case,
            reserve_wallet=reserve_wallet, utxos=utxos)
    after = snapshot()
    assert after == before


def test_a_destination_outside_the_reserve_wallet_is_refused(case, reserve_wallet, bank,
                                                             no_chain, custody_wallet):
    before = snapshot()
    outside = "bcrt1q" + "q" * 38  # not even an address
    refused(ErrorCode.INVALID_ADDRESS, services.transfer_propose, actor=bank, case=case,
            reserve_wallet=reserve_wallet, destination_address=outside,
            utxos=fake_utxos(case, 10_000_000))
    refused(ErrorCode.DESTINATION_NOT_RESERVE, services.transfer_propose, actor=bank,
            case=case, reserve_wallet=reserve_wallet, destination_address=case.custody_address,
            utxos=fake_utxos(case, 10_000_000))
    assert snapshot() == before


def test_cancel_releases_the_coins_and_the_case(proposed, case, reserve_wallet, bank,
                                                no_chain):
    services.transfer_cancel(transfer=proposed, actor=bank, reason="wrong wallet")
    proposed.refresh_from_db()
    case.refresh_from_db()
    assert proposed.status == TransferStatus.CANCELLED
    assert case.status == CaseStatus.CONFISCATION_APPROVED
    assert not TransferInput.objects.filter(locked=True).exists()
    again = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                      utxos=fake_utxos(case, 100_000_000, 50_000_000))
    assert again.destination != proposed.destination  # a fresh address each time
    refused(ErrorCode.INVALID, services.transfer_cancel, transfer=again, actor=bank, reason="")


def test_a_broadcast_the_node_rejects_fails_the_transfer(approved, case, bank, no_chain,
                                                         monkeypatch):
    from chain.errors import TransactionRejected
    from custody import chainio

    def reject(raw_hex):
        raise TransactionRejected(-26, "mandatory-script-verify-flag-failed")

    monkeypatch.setattr(chainio, "broadcast", reject)
    for signer in ("c1", "c2"):
        services.transfer_upload_signed(transfer=approved, actor=bank,
                                        psbt=sign(approved.unsigned_psbt, signer),
                                        step_up=fresh_step_up(bank))
    services.transfer_broadcast(transfer_id=approved.pk)
    approved.refresh_from_db()
    case.refresh_from_db()
    assert approved.status == TransferStatus.FAILED
    assert "mandatory-script-verify-flag-failed" in approved.failure_reason
    assert case.status == CaseStatus.CONFISCATION_APPROVED
    assert not TransferInput.objects.filter(locked=True).exists()


@pytest.mark.parametrize("node_knows_it", [True, False])
def test_an_ambiguous_broadcast_is_resolved_by_asking_for_the_txid(approved, bank, no_chain,
                                                                   monkeypatch, node_knows_it):
    from chain.errors import NodeUnavailable
    from custody import chainio

    def timeout(raw_hex):
        raise NodeUnavailable("timed out")

    monkeypatch.setattr(chainio, "broadcast", timeout)
    monkeypatch.setattr(chainio, "transaction_status",
                        lambda txid: object() if node_knows_it else None)
    for signer in ("c1", "c2"):
        services.transfer_upload_signed(transfer=approved, actor=bank,
                                        psbt=sign(approved.unsigned_psbt, signer),
                                        step_up=fresh_step_up(bank))
    final_hex = Transfer.objects.get(pk=approved.pk).final_tx_hex
    services.transfer_broadcast(transfer_id=approved.pk)
    approved.refresh_from_db()
    if node_knows_it:
        assert approved.status == TransferStatus.BROADCAST
    else:
        assert approved.status == TransferStatus.SIGNING  # the sweeper sends the same bytes
        assert approved.broadcast_attempted_at is not None
        refused(ErrorCode.INVALID_TRANSITION, services.transfer_cancel, transfer=approved,
                actor=bank, reason="give up")
        # Nor rebuilt: a new payload from the same coins while the node may hold (and mine)
        # the signed one would spend them twice over. (Attack: it was rebuilt to PROPOSED.)
        refused(ErrorCode.INVALID_TRANSITION, services.transfer_rebuild, transfer=approved,
                actor=bank, reason="new fee", utxos=fake_utxos(approved.case, 10_000_000),
                fee_rate_sat_vb=25)
        approved.refresh_from_db()
        assert approved.status == TransferStatus.SIGNING
    assert approved.final_tx_hex == final_hex


def test_amount_tiers_need_more_approvals(agency, custody_wallet, admin_user, bank, bank2,
                                          bank3, no_chain):
    from tests.support.custody import make_reserve_wallet
    from tests.support.factories import UserFactory

    wallet = make_reserve_wallet(admin=admin_user, approver=bank3, signers=("t1", "t2", "t3"),
                                 tiers=[{"min_amount_sats": 0, "approvals": 2},
                                        {"min_amount_sats": 100_000_000, "approvals": 3}])
    big = make_confiscated_case(agency=agency, custody_wallet=custody_wallet)
    transfer = services.transfer_propose(actor=bank, case=big, reserve_wallet=wallet,
                                         utxos=fake_utxos(big, 200_000_000))
    assert transfer.approvals_required == 3
    bank4 = UserFactory(username="bank4", roles=["bank_officer"])
    for officer in (bank2, bank3):
        services.transfer_approve(transfer=transfer, actor=officer,
                                  payload_hash=transfer.payload_hash,
                                  step_up=fresh_step_up(officer))
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.PROPOSED
    services.transfer_approve(transfer=transfer, actor=bank4, payload_hash=transfer.payload_hash,
                              step_up=fresh_step_up(bank4))
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.APPROVED


def test_only_bank_officers_propose(case, reserve_wallet, clerk, no_chain):
    refused(ErrorCode.FORBIDDEN, services.transfer_propose, actor=clerk, case=case,
            reserve_wallet=reserve_wallet, utxos=fake_utxos(case, 10_000_000))


def entry_lines(entry):
    return sorted(entry.lines.values_list("account", "amount_sats"))


def test_ledger_accounts_balance(approved, bank, no_chain):
    """The rows a real settlement (and its reversal) writes: each entry's debits equal its
    credits, line by line what moved; an entry that does not balance is detected."""
    for signer in ("c1", "c3"):
        services.transfer_upload_signed(transfer=approved, actor=bank,
                                        psbt=sign(approved.unsigned_psbt, signer),
                                        step_up=fresh_step_up(bank))
    services.transfer_broadcast(transfer_id=approved.pk)  # the task's work, in-process
    services.transfer_apply_chain_state(transfer_id=approved.pk, state="SETTLED",
                                        confirmations=6, block_hash="33" * 32, block_height=300)
    approved.refresh_from_db()
    assert approved.status == TransferStatus.SETTLED
    assert approved.fee_sats > 0
    assert approved.amount_sats + approved.fee_sats == approved.input_total_sats == 150_000_000

    settled = JournalEntry.objects.get(transfer=approved, kind=JournalEntry.Kind.TRANSFER_SETTLED)
    assert entry_lines(settled) == sorted([
        (LedgerAccount.CUSTODY, -approved.input_total_sats),
        (LedgerAccount.NETWORK_FEES, approved.fee_sats),
        (LedgerAccount.RESERVE, approved.amount_sats),
    ])
    debits = sum(amount for _, amount in entry_lines(settled) if amount > 0)
    credits = -sum(amount for _, amount in entry_lines(settled) if amount < 0)
    assert debits == credits == approved.input_total_sats
    assert ledger_is_balanced()

    # A reorg reverses it with a mirror entry, balanced too; the ledger nets to nothing.
    services.transfer_apply_chain_state(transfer_id=approved.pk, state="MEMPOOL")
    reversal = JournalEntry.objects.get(reverses=settled)
    assert entry_lines(reversal) == sorted((account, -amount)
                                           for account, amount in entry_lines(settled))
    assert sum(amount for _, amount in entry_lines(reversal)) == 0
    assert ledger_is_balanced()

    # One line short of balanced: the check finds it.
    unbalanced = JournalEntry.objects.create(kind=JournalEntry.Kind.TRANSFER_SETTLED,
                                             network="regtest", transfer=approved,
                                             txid=approved.txid)
    LedgerLine.objects.create(entry=unbalanced, account=LedgerAccount.RESERVE,
                              amount_sats=approved.amount_sats, source=FundSource.SEIZURE)
    assert not ledger_is_balanced()
