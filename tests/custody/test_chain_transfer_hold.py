"""A pending transfer whose input vanished is put on hold at once and never offered for
signing (issue 11, point 2), and no transfer is proposed from an asset whose verification
failed or was withdrawn. The bank officers act over HTTP; the watcher is polled in-process.
Each test runs on the development chain and on Bitcoin Core v30."""

import datetime as dt

import pytest

from chain import watcher
from chain.adapter import get_adapter
from chain.models import TxState, WatchedTransaction
from core.audit import verify_chain
from custody.models import Transfer, TransferStatus
from intake import services as intake
from intake.models import CaseAlert, CaseStatus, ConfiscationOrder, VerificationStatus
from intake.verification import mark_assets_due, verify_asset
from tests.support.api import DOC_SHA, attach_documents
from tests.support.chain import output_index, script_of
from tests.support.custody import sign
from tests.support.second_factor import fresh_step_up, otp
from tests.support.spend import spend_custody
from tests.support.sweeps import coin_of_wallet, double_spend_in_a_reorg, spend_coin

pytestmark = pytest.mark.django_db

DECLARED = 120_000_000
FEE = 10_000


@pytest.fixture
def adapter(chain_node):
    return get_adapter()


def confiscated_with_a_sweep(node, adapter, clerk, legal):
    """A case whose one sweep (from a coin the test can spend again) is verified after one
    block, and whose final order is recorded. Returns (case, asset, sweep txid, the coin
    it spends, the block it is in)."""
    case = intake.case_create(actor=clerk, data={
        "case_number": "KZ-HOLD-1", "warrant_number": "W-1",
        "warrant_date": dt.date(2026, 1, 5), "owner_name": "Suspect",
        "seizure_date": dt.date(2026, 1, 6)})
    asset = intake.asset_add(case=case, actor=clerk, asset="BTC", network="regtest",
                             declared_amount=DECLARED)
    watcher.poll(adapter)
    coin = coin_of_wallet(node, DECLARED + FEE)
    sweep = spend_coin(node, coin, asset.custody_address, FEE)
    intake.sweep_record(asset=asset, actor=clerk, txid=sweep)
    [block] = node.mine(1)
    watcher.poll(adapter)
    mark_assets_due()
    verify_asset(asset.pk, adapter)
    asset.refresh_from_db()
    assert asset.verification_status == VerificationStatus.VERIFIED
    attach_documents(case)  # the warrant, and the order's document (DOC_SHA)
    intake.case_submit(case=case, actor=clerk)
    intake.case_start_review(case=case, actor=legal)
    intake.case_approve_confiscation(
        case=case, actor=legal, court="Astana City Court", order_number="2-7/2026",
        order_date=dt.date(2026, 3, 1), document_sha256=DOC_SHA,
        finality=ConfiscationOrder.Finality.FINAL, step_up=fresh_step_up(legal))
    case.refresh_from_db()
    return case, asset, sweep, coin, block


def propose_and_approve(api, case, wallet, bank, bank2, bank3):
    reply = api(bank).post("/api/v1/transfers/", {"case": str(case.public_id),
                                                  "reserve_wallet": str(wallet.public_id)},
                           format="json")
    assert reply.status_code == 201, reply.json()
    transfer = reply.json()
    for officer in (bank2, bank3):
        reply = api(officer).post(f"/api/v1/transfers/{transfer['id']}/approve/",
                                  {"payload_hash": transfer["payload_hash"],
                                   "otp": otp(officer)}, format="json")
        assert reply.status_code == 200, reply.json()
    held = Transfer.objects.get(public_id=transfer["id"])
    assert held.status == TransferStatus.APPROVED
    return held


def assert_never_offered_for_signing(api, transfer, bank):
    url = f"/api/v1/transfers/{transfer.public_id}/"
    for reply in (api(bank).get(url + "psbt/"), api(bank).get(url + "psbt/?download=1"),
                  api(bank).post(url + "signatures/",
                                 {"psbt": sign(transfer.unsigned_psbt, "c1"),
                                  "otp": otp(bank)}, format="json")):
        assert (reply.status_code, reply.json()["code"]) == (409, "transfer_on_hold")
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.ON_HOLD and not transfer.combined_psbt


def test_an_approved_transfer_whose_sweep_is_double_spent_is_held_and_never_signed(
        chain_node, adapter, api, clerk, legal, bank, bank2, bank3, custody_wallet,
        reserve_wallet, settings):
    settings.INTAKE_CONFIRMATIONS = 1
    settings.CHAIN_MAX_REORG_DEPTH = 5
    case, asset, sweep, coin, block = confiscated_with_a_sweep(chain_node, adapter, clerk,
                                                                 legal)
    transfer = propose_and_approve(api, case, reserve_wallet, bank, bank2, bank3)
    assert {i.txid for i in transfer.inputs.all()} == {sweep}

    winner = double_spend_in_a_reorg(chain_node, block_hash=block, coin=coin, fee_sats=4 * FEE)
    watcher.poll(adapter)  # one poll

    assert WatchedTransaction.objects.get(txid=sweep, purpose="sweep").state == \
        TxState.CONFLICTED
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.ON_HOLD
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.TRANSFER_ON_HOLD)
    assert alert.case_id == case.pk and str(transfer.public_id) in alert.message
    assert alert.details["conflicting_txid"] == winner
    assert alert.details["vanished_inputs"] == [f"{i.txid}:{i.vout}"
                                                for i in transfer.inputs.all()]
    asset.refresh_from_db()
    assert asset.verification_status == VerificationStatus.DISCREPANCY
    assert_never_offered_for_signing(api, transfer, bank)

    # The officers cancel it; no new transfer is proposed from the lost asset.
    reply = api(bank).post(f"/api/v1/transfers/{transfer.public_id}/cancel/",
                           {"reason": "its sweep was double-spent"}, format="json")
    assert (reply.status_code, reply.json()["status"]) == (200, "CANCELLED")
    case.refresh_from_db()
    assert case.status == CaseStatus.CONFISCATION_APPROVED
    reply = api(bank).post("/api/v1/transfers/", {"case": str(case.public_id),
                                                  "reserve_wallet": str(reserve_wallet.public_id)},
                           format="json")
    assert (reply.status_code, reply.json()["code"]) == (409, "asset_not_verified")
    assert Transfer.objects.filter(case=case).count() == 1
    assert verify_chain().ok


def test_an_approved_transfer_whose_coin_is_spent_elsewhere_is_held(
        chain_node, adapter, api, clerk, legal, bank, bank2, bank3, custody_wallet,
        reserve_wallet, settings):
    settings.INTAKE_CONFIRMATIONS = 1
    case, asset, sweep, _, _ = confiscated_with_a_sweep(chain_node, adapter, clerk, legal)
    transfer = propose_and_approve(api, case, reserve_wallet, bank, bank2, bank3)
    vout, value = output_index(chain_node, sweep, case.custody_address)
    thief = spend_custody(wallet=custody_wallet, index=case.custody_index,
                          utxos=[(sweep, vout, value)],
                          dest_script_hex=script_of(chain_node, chain_node.new_address()))
    spent_by = adapter.broadcast(thief).txid
    watcher.poll(adapter)  # in the mempool: at once, before any block

    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.ON_HOLD
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.TRANSFER_ON_HOLD)
    assert alert.details["spender_txid"] == spent_by
    assert alert.details["vanished_inputs"] == [f"{sweep}:{vout}"]
    assert CaseAlert.objects.filter(kind=CaseAlert.Kind.UNAPPROVED_SPEND).count() == 1
    assert_never_offered_for_signing(api, transfer, bank)
