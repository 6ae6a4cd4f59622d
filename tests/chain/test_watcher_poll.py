"""The poller and tracker in-process (no worker): one pass over new blocks, reorgs,
conflicts, custody alarms, deposits, the circuit breaker. Every test runs twice: on the
development chain and on a real Bitcoin Core (chain_node, tests/fixtures/bitcoind.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chain import registry, services, watcher
from chain.adapter import get_adapter
from chain.models import (
    CircuitBreaker,
    SeenBlock,
    TxState,
    WatchedTransaction,
)
from core.models import AuditEvent
from intake.models import CaseAlert, VerificationStatus
from intake.verification import verify_asset
from tests.support.chain import fund_and_record, make_asset, output_index, script_of
from tests.support.spend import spend_custody

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapter(chain_node):
    """The adapter for whichever node this run of the test is on."""
    return get_adapter()


@pytest.fixture(autouse=True)
def _no_purpose_handlers(monkeypatch):
    """These tests watch made-up transfers: custody's handler would look for them. What
    the chain reports upward is recorded in TX_EVENTS instead."""
    TX_EVENTS.clear()
    monkeypatch.setattr(registry, "_tx",
                        {"transfer": ["tests.chain.test_watcher_poll.record_tx_event"]})


TX_EVENTS = []


def record_tx_event(event):
    TX_EVENTS.append(event)


def _watch(txid, ref="t1", inputs=()):
    return services.watch_transaction(txid=txid, purpose="transfer", ref=ref, inputs=inputs)


def test_poll_confirms_and_settles_a_watched_transaction(chain_node, adapter):
    watcher.poll(adapter)
    txid = chain_node.fund(chain_node.new_address(), 10_000_000)
    wtx = _watch(txid)
    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert wtx.state == TxState.MEMPOOL
    chain_node.mine(1)
    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert wtx.state == TxState.CONFIRMING
    assert wtx.confirmations(adapter.tip().height) == 1
    chain_node.mine(5)
    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert wtx.state == TxState.CONFIRMED
    actions = list(AuditEvent.objects.filter(object_id=str(wtx.public_id))
                   .values_list("action", flat=True))
    # registered by txid alone: what it spends is learned (and audited) when first seen
    assert actions == ["chain.tx_watched", "chain.tx_inputs_learned", "chain.tx_mempool",
                       "chain.tx_confirming", "chain.tx_confirmed"]


def test_reorg_drops_confirmations_and_reconsider_restores(chain_node, adapter, settings):
    settings.CHAIN_MAX_REORG_DEPTH = 3
    watcher.poll(adapter)
    txid = chain_node.fund(chain_node.new_address(), 10_000_000)
    wtx = _watch(txid)
    [block] = chain_node.mine(1)
    chain_node.mine(1)
    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert (wtx.state, wtx.block_hash) == (TxState.CONFIRMING, block)

    chain_node.rpc("invalidateblock", block)
    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert wtx.state == TxState.MEMPOOL and wtx.block_hash == "" and wtx.block_height is None
    assert not SeenBlock.objects.filter(block_hash=block).exists()
    reorg = AuditEvent.objects.get(action="chain.reorg")
    assert reorg.after["depth"] == 2 and txid in reorg.after["transactions"]
    assert services.settlement_paused() == (False, "")

    chain_node.rpc("reconsiderblock", block)
    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert (wtx.state, wtx.block_hash) == (TxState.CONFIRMING, block)


def test_deep_reorg_trips_the_breaker_until_it_clears(chain_node, adapter, settings):
    settings.CHAIN_MAX_REORG_DEPTH = 3
    watcher.poll(adapter)
    blocks = chain_node.mine(5)
    watcher.poll(adapter)
    chain_node.rpc("invalidateblock", blocks[0])
    chain_node.mine(1)
    watcher.poll(adapter)
    paused, reason = services.settlement_paused()
    assert paused and "depth 5" in reason
    chain_node.mine(3)
    watcher.poll(adapter)
    assert services.settlement_paused() == (False, "")
    actions = list(AuditEvent.objects.filter(action__startswith="chain.breaker")
                   .values_list("action", flat=True))
    assert actions == ["chain.breaker_tripped", "chain.breaker_cleared"]


def test_stale_tip_trips_the_breaker(chain_node, adapter, settings):
    settings.CHAIN_STALE_TIP_SECONDS = 1
    tip = adapter.tip()
    settings.CHAIN_STALE_TIP_SECONDS = 10**9
    watcher.poll(adapter)
    assert not services.settlement_paused()[0]
    settings.CHAIN_STALE_TIP_SECONDS = 0
    import time

    while time.time() <= tip.time:
        time.sleep(0.1)
    watcher.poll(adapter)
    assert services.settlement_paused()[0]
    assert CircuitBreaker.objects.get().cause == "stale_tip"
    settings.CHAIN_STALE_TIP_SECONDS = 10**9
    watcher.poll(adapter)
    assert not services.settlement_paused()[0]


def test_lost_double_spend_is_not_fooled_by_the_stale_blockhash(chain_node, adapter):
    """reorg.json part B: after the reorg the node still returns the loser with its stale
    blockhash (confirmations 0). Qazyna must see CONFLICTED, not mined."""
    watcher.poll(adapter)
    txid = chain_node.fund(chain_node.new_address(), 40_000_000)
    raw = chain_node.rpc("getrawtransaction", txid, 1)
    funding_input = (raw["vin"][0]["txid"], raw["vin"][0]["vout"])
    wtx = _watch(txid, inputs=[funding_input])
    [h2, _] = chain_node.mine(2)
    watcher.poll(adapter)
    chain_node.rpc("invalidateblock", h2)
    dest = chain_node.new_address()
    prev = chain_node.rpc("getrawtransaction", funding_input[0], 1)
    value = prev["vout"][funding_input[1]]["value"]
    unsigned = chain_node.rpc("createrawtransaction",
                            [{"txid": funding_input[0], "vout": funding_input[1]}],
                            [{dest: value - __import__("decimal").Decimal("0.0002")}])
    signed = chain_node.rpc("signrawtransactionwithwallet", unsigned, wallet="miner")
    winner = chain_node.rpc("decoderawtransaction", signed["hex"])["txid"]
    chain_node.rpc("generateblock", chain_node.new_address(), [signed["hex"]])
    chain_node.mine(2)

    status = adapter.get_transaction(txid)
    assert status.block_hash is None and status.stale_block_hash == h2
    assert status.confirmations == 0 and not status.in_mempool

    watcher.poll(adapter)
    wtx.refresh_from_db()
    assert wtx.state == TxState.CONFLICTED
    assert wtx.conflicting_txid == winner
    reported = TX_EVENTS[-1]
    assert (reported.txid, reported.new_state, reported.conflicting_txid) == (
        txid, TxState.CONFLICTED, winner)
    assert reported.gone and any(e.left_the_chain for e in TX_EVENTS)
    # the per-item tracker agrees
    WatchedTransaction.objects.filter(pk=wtx.pk).update(state=TxState.MEMPOOL)
    watcher.track(wtx.pk, adapter)
    wtx.refresh_from_db()
    assert wtx.state in (TxState.CONFLICTED, TxState.REPLACED)


def test_unapproved_spend_from_custody_raises_an_alarm(chain_node, adapter, agency, clerk,
                                                       custody_wallet):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=30_000_000)
    txid = fund_and_record(devchain=chain_node, asset=asset, clerk=clerk)
    chain_node.mine(2)
    watcher.poll(adapter)
    assert verify_asset(asset.pk, adapter) == "verified"
    vout, value = output_index(chain_node, txid, asset.custody_address)
    thief = spend_custody(wallet=custody_wallet, index=case.custody_index,
                          utxos=[(txid, vout, value)],
                          dest_script_hex=script_of(chain_node, chain_node.new_address()))
    spend_txid = adapter.broadcast(thief).txid
    watcher.poll(adapter)  # seen in the mempool: at once, before any block
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.UNAPPROVED_SPEND)
    assert alert.case_id == case.pk and alert.details["txid"] == spend_txid
    chain_node.mine(1)
    watcher.poll(adapter)
    assert CaseAlert.objects.filter(kind=CaseAlert.Kind.UNAPPROVED_SPEND).count() == 1


def test_approved_spend_raises_no_alarm(chain_node, adapter, agency, clerk, custody_wallet,
                                        monkeypatch):
    monkeypatch.setattr(registry, "_spend_checks",
                        ["tests.chain.test_watcher_poll.approve_everything"])
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=30_000_000)
    txid = fund_and_record(devchain=chain_node, asset=asset, clerk=clerk)
    chain_node.mine(2)
    watcher.poll(adapter)
    verify_asset(asset.pk, adapter)
    vout, value = output_index(chain_node, txid, asset.custody_address)
    raw = spend_custody(wallet=custody_wallet, index=case.custody_index,
                        utxos=[(txid, vout, value)],
                        dest_script_hex=script_of(chain_node, chain_node.new_address()))
    adapter.broadcast(raw)
    watcher.poll(adapter)
    assert not CaseAlert.objects.filter(kind=CaseAlert.Kind.UNAPPROVED_SPEND).exists()
    assert AuditEvent.objects.get(action="chain.coins_spent").after["approved"] is True


def approve_everything(txid, outpoints):
    return True


def test_intake_discrepancy_when_less_arrives(chain_node, adapter, agency, clerk, custody_wallet):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=30_000_000)
    fund_and_record(devchain=chain_node, asset=asset, clerk=clerk, sats=20_000_000)
    chain_node.mine(1)
    assert verify_asset(asset.pk, adapter) == "discrepancy"
    asset.refresh_from_db()
    assert asset.verification_status == VerificationStatus.DISCREPANCY
    assert asset.observed_amount == 20_000_000


def test_intake_discrepancy_on_other_transactions(chain_node, adapter, agency, clerk,
                                                  custody_wallet):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=30_000_000)
    fund_and_record(devchain=chain_node, asset=asset, clerk=clerk)
    other = chain_node.fund(asset.custody_address, 1_000)
    chain_node.mine(1)
    assert verify_asset(asset.pk, adapter) == "discrepancy"
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.INTAKE_DISCREPANCY)
    assert [o["txid"] for o in alert.details["other_transactions"]] == [other]


def test_intake_waits_for_confirmations(chain_node, adapter, agency, clerk, custody_wallet,
                                        settings):
    settings.INTAKE_CONFIRMATIONS = 2
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=30_000_000)
    fund_and_record(devchain=chain_node, asset=asset, clerk=clerk)
    chain_node.mine(1)
    assert verify_asset(asset.pk, adapter) == "waiting"
    asset.refresh_from_db()
    assert asset.verification_status == VerificationStatus.PENDING
    assert verify_asset(asset.pk, adapter) is None  # claimed: not due yet
    chain_node.mine(1)
    watcher.poll(adapter)  # a new block makes waiting assets due
    assert verify_asset(asset.pk, adapter) == "verified"
    assert verify_asset(asset.pk, adapter) is None  # done: nothing due


RECEIVED = []


def record_received(event):
    RECEIVED.append(event)


def test_coins_received_at_a_watched_address_are_reported_once_per_sighting(
        chain_node, adapter, monkeypatch):
    monkeypatch.setattr(registry, "_received",
                        {"reserve": ["tests.chain.test_watcher_poll.record_received"]})
    RECEIVED.clear()
    watcher.poll(adapter)
    reserve = chain_node.new_address()
    services.watch_address(address=reserve, purpose="reserve", ref="wallet-1")
    txid = chain_node.fund(reserve, 5_000_000)
    watcher.poll(adapter)  # the mempool sighting
    chain_node.mine(1)
    watcher.poll(adapter)  # the block
    watcher.poll(adapter)  # nothing new
    assert [(e.txid, e.address, e.value_sats, bool(e.block_hash), e.confirmations)
            for e in RECEIVED] == [(txid, reserve, 5_000_000, False, 0),
                                   (txid, reserve, 5_000_000, True, 1)]
    assert RECEIVED[-1].purpose == "reserve" and RECEIVED[-1].ref == "wallet-1"


def test_work_per_block_does_not_grow_with_watched_items(chain_node, adapter):
    """Node calls per poll depend on new blocks, not on how many transactions we watch."""
    watcher.poll(adapter)

    def measure(n_items, offset):
        for i in range(n_items):
            WatchedTransaction.objects.create(txid=f"{offset + i:064x}", purpose="transfer",
                                              ref=str(i), network="regtest")
        chain_node.mine(1)
        before = adapter.calls
        with CaptureQueriesContext(connection) as queries:
            watcher.poll(adapter)
        return adapter.calls - before, len(queries)

    calls_small, queries_small = measure(10, 1)
    calls_big, queries_big = measure(500, 10_000)
    assert calls_small == calls_big
    assert queries_big == queries_small


def _row_locks(queries):
    """The tables of each SELECT … FOR UPDATE, in order."""
    return [q["sql"].split(" FROM ", 1)[1].split()[0].strip('"') for q in queries
            if "FOR UPDATE" in q["sql"]]


def test_the_audit_head_is_the_last_lock_the_poller_and_the_tracker_take(chain_node, adapter,
                                                                         settings):
    """Every writer waits on the audit chain's head until it commits. Taken in the middle of a
    poll (at its first event) and then followed by row locks, it deadlocked with the tracker,
    which holds its row and then waits for the head: both take it last."""
    from tests.support.services import require_postgresql

    require_postgresql(connection, why="the lock order is read from PostgreSQL's FOR UPDATE")
    settings.CHAIN_MAX_REORG_DEPTH = 3
    watcher.poll(adapter)
    txid = chain_node.fund(chain_node.new_address(), 10_000_000)
    wtx = _watch(txid)
    [block] = chain_node.mine(1)
    watcher.poll(adapter)
    chain_node.rpc("invalidateblock", block)  # a reorg event first, then the tx changes
    with CaptureQueriesContext(connection) as poll:
        watcher.poll(adapter)
    assert AuditEvent.objects.filter(action="chain.reorg").exists()
    locks = _row_locks(poll.captured_queries)
    assert "chain_watchedtransaction" in locks
    assert locks.count("core_auditchainhead") == 1 and locks[-1] == "core_auditchainhead", locks

    chain_node.mine(1)
    WatchedTransaction.objects.filter(pk=wtx.pk).update(next_check_at=None, claimed_until=None)
    before = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as tracker:
        watcher.track(wtx.pk, adapter)
    assert AuditEvent.objects.count() > before  # the tracker saw it mined, and said so
    locks = _row_locks(tracker.captured_queries)
    assert locks[0] == "chain_watchedtransaction" and locks[-1] == "core_auditchainhead", locks
