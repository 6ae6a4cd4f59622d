"""Deposits, attribution, reconciliation, valuation, exports and the demo signer; the chain
replaced by in-memory values."""

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.errors import DomainError, ErrorCode
from custody import chainio, services
from custody.exporters import accounting_csv, proof_of_reserves
from custody.models import Deposit, JournalEntry, PriceRecord, ReconciliationRun, Valuation
from custody.reconciliation import reconcile_all
from custody.selectors import balances, ledger_is_balanced
from intake.models import CaseAlert
from tests.support.custody import fake_utxos, seen_by_watchers, sign
from tests.support.second_factor import fresh_step_up

pytestmark = pytest.mark.django_db

TIP = SimpleNamespace(height=500, block_hash="ee" * 32, time=0)


def node_utxo(address, sats, txid, confirmations=10):
    return SimpleNamespace(txid=txid, vout=0, value_sats=sats, address=address,
                           script_pubkey="", height=TIP.height - confirmations + 1,
                           confirmations=confirmations)


@pytest.fixture
def settled(case, reserve_wallet, bank, bank2, bank3, no_chain):
    transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                         utxos=fake_utxos(case, 80_000_000))
    for officer in (bank2, bank3):
        services.transfer_approve(transfer=transfer, actor=officer,
                                  payload_hash=transfer.payload_hash,
                                  step_up=fresh_step_up(officer))
    transfer.refresh_from_db()
    for signer in ("c1", "c2"):
        services.transfer_upload_signed(transfer=transfer, actor=bank,
                                        psbt=sign(transfer.unsigned_psbt, signer),
                                        step_up=fresh_step_up(bank))
    services.transfer_broadcast(transfer_id=transfer.pk)
    services.transfer_apply_chain_state(transfer_id=transfer.pk, state="CONFIRMED",
                                        confirmations=6, block_hash="aa" * 32, block_height=495)
    transfer.refresh_from_db()
    return transfer


def on_node(monkeypatch, utxos):
    monkeypatch.setattr(chainio, "tip", lambda: TIP)
    monkeypatch.setattr(chainio, "reserve_utxos", lambda addresses: utxos)


def test_reconciliation_balances_then_flags_a_mismatch(settled, reserve_wallet, monkeypatch):
    address = settled.destination.address
    on_node(monkeypatch, [node_utxo(address, settled.amount_sats, settled.txid)])
    run, = reconcile_all()
    assert run.difference_sats == 0 and run.balanced
    assert run.addresses == [{"address": address, "balance_sats": settled.amount_sats}]
    # Coins vanish from the node: an alert with the difference, the ledger untouched.
    on_node(monkeypatch, [])
    run, = reconcile_all()
    assert run.difference_sats == -settled.amount_sats
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.RECONCILIATION)
    assert alert.details["difference_sats"] == -settled.amount_sats
    assert balances()["total_sats"] == settled.amount_sats
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile_reserves", stdout=out)
    assert "difference -" in out.getvalue()


def test_an_unattributed_deposit_enters_the_ledger_only_when_attributed(
        settled, reserve_wallet, bank, bank2, monkeypatch):
    address = settled.destination.address
    mining = node_utxo(address, 625_000_000, "cd" * 32, confirmations=2)
    on_node(monkeypatch, [node_utxo(address, settled.amount_sats, settled.txid), mining])
    run, = reconcile_all()
    assert (run.unattributed_sats, run.difference_sats) == (625_000_000, 0)
    deposit = Deposit.objects.get()
    assert deposit.status == Deposit.Status.UNATTRIBUTED
    with pytest.raises(DomainError) as info:
        services.deposit_attribute(deposit=deposit, actor=bank, source="STATE_MINING",
                                   step_up=fresh_step_up(bank))
    assert info.value.code == ErrorCode.NOT_SETTLED
    on_node(monkeypatch, [node_utxo(address, settled.amount_sats, settled.txid),
                          node_utxo(address, 625_000_000, "cd" * 32, confirmations=6)])
    reconcile_all()
    with pytest.raises(DomainError):
        services.deposit_attribute(deposit=deposit, actor=bank, source="SEIZURE",
                                   step_up=fresh_step_up(bank))
    services.deposit_attribute(deposit=deposit, actor=bank, source="STATE_MINING",
                               note="Ekibastuz pool payout, week 12",
                               step_up=fresh_step_up(bank))
    # Four eyes: proposed, not yet in the ledger; the proposer cannot approve it.
    assert Deposit.objects.get().status == Deposit.Status.PROPOSED
    assert balances()["by_source"].get("STATE_MINING", 0) == 0
    with pytest.raises(DomainError) as own:
        services.deposit_attribution_approve(deposit=deposit, actor=bank,
                                             step_up=fresh_step_up(bank))
    assert own.value.code == ErrorCode.OWN_ENTRY
    services.deposit_attribution_approve(deposit=deposit, actor=bank2,
                                         step_up=fresh_step_up(bank2))
    totals = balances()
    assert totals["by_source"] == {"SEIZURE": settled.amount_sats, "STATE_MINING": 625_000_000}
    assert ledger_is_balanced()
    run = reconcile_all()[0]
    assert (run.unattributed_sats, run.difference_sats) == (0, 0)
    # A reorg removes it: a compensating entry and an alert.
    services.deposit_apply_chain_state(txid="cd" * 32, removed=True)
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.DEPOSIT_REVERSED).count() == 1
    assert balances()["by_source"]["STATE_MINING"] == 0
    assert CaseAlert.objects.filter(kind=CaseAlert.Kind.REORG).exists()


def test_valuation_in_kzt_from_recorded_prices(case, reserve_wallet, bank, bank2, bank3,
                                               no_chain):
    from django.utils import timezone

    for when, price in ((dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "30000000"),
                        (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "40000000")):
        services.price_record(actor=bank, kzt_per_unit=Decimal(price), source="NBK fixing",
                              observed_at=when,
                              step_up=fresh_step_up(bank))
    pending = services.price_record(actor=bank, kzt_per_unit=Decimal("50000000.00"),
                                    source="NBK fixing", observed_at=timezone.now(),
                                    step_up=fresh_step_up(bank))
    with pytest.raises(DomainError) as own:
        services.price_approve(price=pending, actor=bank, step_up=fresh_step_up(bank))
    assert own.value.code == ErrorCode.OWN_ENTRY
    for price in PriceRecord.objects.filter(status=PriceRecord.Status.PENDING):
        services.price_approve(price=price, actor=bank2, step_up=fresh_step_up(bank2))
    transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                         utxos=fake_utxos(case, 150_000_000))
    services.transfer_apply_chain_state(transfer_id=transfer.pk, state="CONFIRMED")
    assert not Valuation.objects.exists()  # not broadcast: nothing happens
    for officer in (bank2, bank3):
        services.transfer_approve(transfer=transfer, actor=officer,
                                  payload_hash=transfer.payload_hash,
                                  step_up=fresh_step_up(officer))
    transfer.refresh_from_db()
    for signer in ("c2", "c3"):
        services.transfer_upload_signed(transfer=transfer, actor=bank,
                                        psbt=sign(transfer.unsigned_psbt, signer),
                                        step_up=fresh_step_up(bank))
    services.transfer_broadcast(transfer_id=transfer.pk)
    services.transfer_apply_chain_state(transfer_id=transfer.pk, state="CONFIRMED",
                                        confirmations=6, block_hash="aa" * 32, block_height=9)
    values = {v.point: v for v in Valuation.objects.all()}
    assert values["SEIZURE"].value_kzt == Decimal("45000000.00")  # 1.5 BTC at 30m
    assert values["SETTLEMENT"].price.kzt_per_unit == Decimal("50000000.00")
    transfer.refresh_from_db()
    assert values["SETTLEMENT"].value_kzt == (Decimal(transfer.amount_sats) / 100_000_000
                                              * 50_000_000).quantize(Decimal("0.01"))


def test_exports_and_commands(settled, monkeypatch):
    on_node(monkeypatch, [node_utxo(settled.destination.address, settled.amount_sats,
                                    settled.txid)])
    seen_by_watchers(tip=TIP, outputs=[(settled.txid, 0, settled.destination.address,
                                        settled.amount_sats, TIP.height - 9)])
    out = io.StringIO()
    call_command("proof_of_reserves", "--format", "csv", stdout=out)
    assert settled.destination.address in out.getvalue()
    assert str(TIP.height) in out.getvalue()
    proof = proof_of_reserves()["wallets"][0]
    assert proof["tip_hash"] == TIP.block_hash and proof["difference_sats"] == 0
    text = accounting_csv()
    assert "holding_by_source" in text and "holding_by_case" in text and "holding_by_wallet" \
        in text and f"total,,,,,RESERVE,{settled.amount_sats}" in text
    out = io.StringIO()
    call_command("export_accounting", stdout=out)
    assert out.getvalue() == text
    assert ReconciliationRun.objects.count() == 1


def test_the_demo_signer_signs_and_refuses_mainnet(settled, tmp_path, monkeypatch, capsys):
    from tools import demo_signer

    unsigned = tmp_path / "unsigned.psbt"
    unsigned.write_text(settled.unsigned_psbt)
    signed = tmp_path / "signed.psbt"
    monkeypatch.setenv("BITCOIN_NETWORK", "regtest")
    assert demo_signer.main(["sign", "--signer", "c2", "--in", str(unsigned),
                             "--out", str(signed)]) == 0
    assert "DEVELOPMENT ONLY" in capsys.readouterr().err
    from embit.psbt import PSBT

    assert len(PSBT.from_string(signed.read_text().strip()).inputs[0].partial_sigs) == 1
    assert demo_signer.main(["sign", "--signer", "stranger", "--in", str(unsigned),
                             "--out", str(signed)]) == 2
    monkeypatch.setenv("BITCOIN_NETWORK", "mainnet")
    with pytest.raises(SystemExit) as info:
        demo_signer.main(["sign", "--signer", "c2", "--in", str(unsigned),
                          "--out", str(signed)])
    assert "mainnet" in str(info.value)
