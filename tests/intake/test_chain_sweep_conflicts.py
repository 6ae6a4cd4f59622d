"""Sweeps that cannot fool intake (issue 11, point 1): a sweep replaced before it confirms or
double-spent by a reorg is named REPLACED / CONFLICTED with the conflicting txid within one
poll, and its asset is a DISCREPANCY at once with an alert that says so; a sweep left only in
a stale block is never "waiting". The clerk records the sweep over HTTP; the watcher is
polled in-process. Every test runs on the development chain and on Bitcoin Core v30."""

import pytest

from chain import watcher
from chain.adapter import get_adapter
from chain.models import TxState, WatchedInput, WatchedTransaction
from core.audit import verify_chain
from core.models import AuditEvent
from intake.models import CaseAlert, SeizedAsset, VerificationStatus
from intake.verification import mark_assets_due, verify_asset
from tests.support.api import CASE_PAYLOAD, url
from tests.support.sweeps import coin_of_wallet, double_spend_in_a_reorg, spend_coin

pytestmark = pytest.mark.django_db

DECLARED = 30_000_000
SWEEP_FEE = 10_000


@pytest.fixture
def adapter(chain_node):
    return get_adapter()


def file_case_with_asset(clerk_api):
    case = clerk_api.post(url(), CASE_PAYLOAD, format="json")
    assert case.status_code == 201, case.json()
    case = case.json()
    asset = clerk_api.post(url(case["id"], sub="assets"),
                           {"asset": "BTC", "network": "regtest",
                            "declared_amount": DECLARED}, format="json")
    assert asset.status_code == 201, asset.json()
    return case, asset.json()


def record_sweep(clerk_api, case, asset, txid):
    reply = clerk_api.post(url(case["id"], sub=f"assets/{asset['id']}/sweeps"),
                           {"txid": txid}, format="json")
    assert reply.status_code == 201, reply.json()


def asset_seen_by_clerk(clerk_api, case, asset_id):
    body = clerk_api.get(url(case["id"], sub="assets")).json()
    assets = body["results"] if isinstance(body, dict) else body
    return next(a for a in assets if a["id"] == asset_id)


def sweep_into_custody(node, custody_address):
    """A sweep of exactly DECLARED into custody from a coin the test can spend again."""
    coin = coin_of_wallet(node, DECLARED + SWEEP_FEE)
    return spend_coin(node, coin, custody_address, SWEEP_FEE), coin


def test_a_sweep_replaced_before_it_confirms_is_named_and_alarmed_in_one_poll(
        chain_node, adapter, api, clerk, custody_wallet):
    clerk_api = api(clerk)
    case, asset = file_case_with_asset(clerk_api)
    watcher.poll(adapter)
    sweep, coin = sweep_into_custody(chain_node, asset["custody_address"])
    watcher.poll(adapter)  # the poller sees it in the mempool before the clerk records it
    record_sweep(clerk_api, case, asset, sweep)
    watcher.poll(adapter)  # watched now: what it spends is learned from the mempool
    wtx = WatchedTransaction.objects.get(txid=sweep, purpose="sweep")
    assert wtx.state == TxState.MEMPOOL
    assert {(i.txid, i.vout) for i in WatchedInput.objects.filter(watched_tx=wtx)} == {
        coin[:2]}

    # The suspect, who kept a key, bumps the fee and sends the coins elsewhere.
    replacement = spend_coin(chain_node, coin, chain_node.new_address(), 4 * SWEEP_FEE)
    assert chain_node.rpc("getrawmempool") == [replacement]
    watcher.poll(adapter)  # one poll

    wtx.refresh_from_db()
    assert (wtx.state, wtx.conflicting_txid) == (TxState.REPLACED, replacement)
    seen = asset_seen_by_clerk(clerk_api, case, asset["id"])
    assert (seen["verification_status"], seen["observed_amount"]) == ("DISCREPANCY", 0)
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.REPLACED)
    assert str(alert.case.public_id) == case["id"]
    assert alert.message.startswith("Replaced:") and replacement in alert.message
    assert alert.details["conflicting_txid"] == replacement
    assert not CaseAlert.objects.filter(kind=CaseAlert.Kind.CONFLICT).exists()
    listed = api(clerk).get("/api/v1/alerts/").json()
    assert [a["kind"] for a in listed["results"]] == ["REPLACED"]
    # The intake watcher does not turn it back into "waiting" or "verified".
    assert verify_asset(SeizedAsset.objects.get(public_id=asset["id"]).pk, adapter) is None

    # The replacement is mined: the sweep is final-lost (CONFLICTED), still one alert.
    chain_node.mine(1)
    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert (wtx.state, wtx.conflicting_txid) == (TxState.CONFLICTED, replacement)
    assert CaseAlert.objects.count() == 1
    assert verify_chain().ok


def test_a_reorg_that_double_spends_a_verified_sweep_is_a_discrepancy_not_a_reorg(
        chain_node, adapter, api, clerk, custody_wallet, settings):
    settings.INTAKE_CONFIRMATIONS = 1
    settings.CHAIN_MAX_REORG_DEPTH = 5
    clerk_api = api(clerk)
    case, asset = file_case_with_asset(clerk_api)
    watcher.poll(adapter)
    sweep, coin = sweep_into_custody(chain_node, asset["custody_address"])
    record_sweep(clerk_api, case, asset, sweep)
    [block] = chain_node.mine(1)
    watcher.poll(adapter)
    asset_id = SeizedAsset.objects.get(public_id=asset["id"]).pk
    mark_assets_due()
    verify_asset(asset_id, adapter)
    seen = asset_seen_by_clerk(clerk_api, case, asset["id"])
    assert (seen["verification_status"], seen["observed_amount"]) == ("VERIFIED", DECLARED)

    winner = double_spend_in_a_reorg(chain_node, block_hash=block, coin=coin,
                                     fee_sats=4 * SWEEP_FEE)
    watcher.poll(adapter)  # one poll

    wtx = WatchedTransaction.objects.get(txid=sweep, purpose="sweep")
    assert (wtx.state, wtx.conflicting_txid) == (TxState.CONFLICTED, winner)
    assert (wtx.block_hash, wtx.block_height) == ("", None)
    # one transition, named for what it is (never a reorg that would come back)
    assert list(AuditEvent.objects.filter(object_id=str(wtx.public_id)).order_by("seq")
                .values_list("action", flat=True))[-1] == "chain.tx_conflicted"
    seen = asset_seen_by_clerk(clerk_api, case, asset["id"])
    assert (seen["verification_status"], seen["observed_amount"]) == ("DISCREPANCY", 0)
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.DOUBLE_SPEND)
    assert alert.message.startswith("Double spend:") and winner in alert.message
    assert alert.details["what"] == "double spend"
    assert not CaseAlert.objects.filter(kind=CaseAlert.Kind.REORG).exists()
    assert AuditEvent.objects.filter(action="asset.sweep_lost",
                                     object_id=asset["id"]).count() == 1
    # Repeating the poll or the check changes nothing.
    watcher.poll(adapter)
    mark_assets_due()
    assert verify_asset(asset_id, adapter) is None
    assert CaseAlert.objects.count() == 1

    # A longer branch brings the sweep back: checked again, verified again.
    winner_block = chain_node.rpc("getrawtransaction", winner, 1)["blockhash"]
    chain_node.rpc("invalidateblock", winner_block)
    chain_node.rpc("reconsiderblock", block)
    chain_node.mine(1)
    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert (wtx.state, wtx.block_hash) == (TxState.CONFIRMING, block)
    assert asset_seen_by_clerk(clerk_api, case, asset["id"])["verification_status"] == \
        "PENDING"
    verify_asset(asset_id, adapter)
    seen = asset_seen_by_clerk(clerk_api, case, asset["id"])
    assert (seen["verification_status"], seen["observed_amount"]) == ("VERIFIED", DECLARED)
    assert verify_chain().ok


def test_a_sweep_only_in_a_stale_block_is_never_waiting(chain_node, adapter, api, clerk,
                                                        custody_wallet, settings):
    """The clerk records a sweep after it lost a double spend in a reorg: the node's txindex
    still returns it, with the stale block's hash and 0 confirmations, and it is in no
    mempool. Lost at once, whatever the grace period for an unknown sweep says."""
    settings.INTAKE_CONFIRMATIONS = 1
    settings.INTAKE_UNKNOWN_SWEEP_GRACE_SECONDS = 10**6
    clerk_api = api(clerk)
    case, asset = file_case_with_asset(clerk_api)
    sweep, coin = sweep_into_custody(chain_node, asset["custody_address"])
    [block] = chain_node.mine(1)
    winner = double_spend_in_a_reorg(chain_node, block_hash=block, coin=coin,
                                     fee_sats=4 * SWEEP_FEE)
    status = adapter.get_transaction(sweep)
    assert (status.stale_block_hash, status.block_hash, status.in_mempool) == (
        block, None, False)

    record_sweep(clerk_api, case, asset, sweep)
    asset_id = SeizedAsset.objects.get(public_id=asset["id"]).pk
    assert verify_asset(asset_id, adapter) == "discrepancy"
    seen = asset_seen_by_clerk(clerk_api, case, asset["id"])
    assert (seen["verification_status"], seen["observed_amount"]) == ("DISCREPANCY", 0)
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.INTAKE_DISCREPANCY)
    assert sweep in alert.details["lost_sweeps"]
    assert alert.details["sweeps"][sweep]["stale_block_hash"] == block
    assert "double spend or replaced" in alert.message

    # The tracker learns its inputs from the stale copy and sees them spent.
    wtx = WatchedTransaction.objects.get(txid=sweep, purpose="sweep")
    watcher.track(wtx.pk, adapter)
    wtx.refresh_from_db()
    assert wtx.state == TxState.CONFLICTED
    assert WatchedInput.objects.filter(watched_tx=wtx, txid=coin[0], vout=coin[1]).exists()
    assert SeizedAsset.objects.get(pk=asset_id).verification_status == \
        VerificationStatus.DISCREPANCY
    assert winner != sweep
