"""End to end on a REAL Celery worker (Redis broker, PostgreSQL, the devchain over HTTP).
The test plays Celery beat: each wait round sends poll_chain and sweep_due to Redis; the
worker does all the work. Effects are awaited by polling the database with a deadline."""

import signal

import pytest
from django.utils import timezone

from chain import services
from chain.models import ChainCursor, TxState, WatchedTransaction
from chain.tasks import poll_chain, sweep_due
from core.models import AuditEvent
from intake.models import CaseAlert, SeizedAsset, VerificationStatus
from intake.tasks import sweep_due_assets, verify_asset_task
from tests.support.chain import (
    fund_and_record,
    make_asset,
    output_index,
    script_of,
    wait_for,
)
from tests.support.spend import spend_custody

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def beat():
    poll_chain.delay()
    sweep_due.delay()
    sweep_due_assets.delay()


def status_of(asset):
    return SeizedAsset.objects.get(pk=asset.pk).verification_status


def wtx_state(wtx):
    return WatchedTransaction.objects.get(pk=wtx.pk).state


def cursor_at(height):
    return lambda: ChainCursor.objects.filter(height=height).exists()


def test_sweep_recorded_is_verified_after_n_blocks(celery_worker_process, devchain, agency,
                                                   clerk, custody_wallet):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=25_000_000)
    fund_and_record(devchain=devchain, asset=asset, clerk=clerk)
    tip = devchain.rpc("getblockcount")
    devchain.mine(1)  # 1 of INTAKE_CONFIRMATIONS=2
    wait_for(cursor_at(tip + 1), drive=beat, message="the poller at the first block")
    wait_for(lambda: not SeizedAsset.objects.filter(pk=asset.pk,
                                                    next_check_at__lte=timezone.now()).exists(),
             drive=beat, message="the asset checked after one block")
    assert status_of(asset) == VerificationStatus.PENDING
    devchain.mine(1)
    wait_for(lambda: status_of(asset) == VerificationStatus.VERIFIED, drive=beat,
             message="asset verified")
    assert AuditEvent.objects.filter(action="asset.verified").count() == 1


def test_reorg_reverts_state_and_reconsider_restores_it(celery_worker_process, devchain,
                                                        settings):
    txid = devchain.fund(devchain.new_address(), 10_000_000)
    wtx = services.watch_transaction(txid=txid, purpose="transfer", ref="t-reorg")
    [block] = devchain.mine(1)
    devchain.mine(5)
    wait_for(lambda: wtx_state(wtx) == TxState.CONFIRMED, drive=beat, message="settled")
    devchain.rpc("invalidateblock", block)
    wait_for(lambda: wtx_state(wtx) in (TxState.MEMPOOL, TxState.PENDING), drive=beat,
             message="back to mempool after the reorg")
    assert AuditEvent.objects.filter(action="chain.reorg").exists()
    assert AuditEvent.objects.filter(action="chain.tx_reorged",
                                     object_id=str(wtx.public_id)).exists()
    assert services.settlement_paused()[0]  # depth 6 > CHAIN_MAX_REORG_DEPTH (3)
    devchain.rpc("reconsiderblock", block)
    wait_for(lambda: wtx_state(wtx) == TxState.CONFIRMED, drive=beat,
             message="settled again after reconsiderblock")
    assert WatchedTransaction.objects.get(pk=wtx.pk).block_hash == block


def test_double_spend_of_a_transfer_input_is_conflicted_and_alarmed(
        celery_worker_process, devchain, adapter, agency, clerk, custody_wallet):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=40_000_000)
    txid = fund_and_record(devchain=devchain, asset=asset, clerk=clerk)
    devchain.mine(2)
    vout, value = output_index(devchain, txid, asset.custody_address)
    utxo = [(txid, vout, value)]
    transfer = spend_custody(wallet=custody_wallet, index=case.custody_index, utxos=utxo,
                             dest_script_hex=script_of(devchain, devchain.new_address()))
    transfer_txid = adapter.broadcast(transfer).txid
    wtx = services.watch_transaction(txid=transfer_txid, purpose="transfer", ref="t-ds",
                                     inputs=[f"{txid}:{vout}"])
    wait_for(lambda: wtx_state(wtx) == TxState.MEMPOOL, drive=beat, message="in mempool")
    thief = spend_custody(wallet=custody_wallet, index=case.custody_index, utxos=utxo,
                          fee_sats=20_000,
                          dest_script_hex=script_of(devchain, devchain.new_address()))
    thief_txid = adapter.broadcast(thief).txid
    devchain.mine(1)
    wait_for(lambda: WatchedTransaction.objects.filter(
        pk=wtx.pk, state=TxState.CONFLICTED, conflicting_txid=thief_txid).exists(),
        drive=beat, message="conflicted by the mined double spend")
    # The made-up transfer has no custody transfer behind it: its spend of the custody coin
    # (the first one seen) is an unapproved spend on the case, raised once.
    assert CaseAlert.objects.filter(
        kind=CaseAlert.Kind.UNAPPROVED_SPEND, case=case,
        dedup_key=f"spend:{transfer_txid}:{asset.custody_address}").count() == 1


def test_unapproved_spend_from_custody_raises_an_alarm(celery_worker_process, devchain,
                                                       adapter, agency, clerk,
                                                       custody_wallet):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=30_000_000)
    txid = fund_and_record(devchain=devchain, asset=asset, clerk=clerk)
    devchain.mine(2)
    wait_for(lambda: status_of(asset) == VerificationStatus.VERIFIED, drive=beat,
             message="verified")
    vout, value = output_index(devchain, txid, asset.custody_address)
    raw = spend_custody(wallet=custody_wallet, index=case.custody_index,
                        utxos=[(txid, vout, value)],
                        dest_script_hex=script_of(devchain, devchain.new_address()))
    spend_txid = adapter.broadcast(raw).txid
    alert = wait_for(lambda: CaseAlert.objects.filter(kind=CaseAlert.Kind.UNAPPROVED_SPEND,
                                                      case=case).first(),
                     drive=beat, message="custody alarm (from the mempool, no block)")
    assert alert.details["txid"] == spend_txid


@pytest.mark.parametrize("mode", ["down", "slow"])
def test_node_down_or_timing_out_retries_without_state_change(
        celery_worker_process, devchain, node_proxy, agency, clerk, custody_wallet, mode):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=20_000_000)
    txid = fund_and_record(devchain=devchain, asset=asset, clerk=clerk)
    devchain.mine(1)
    # The recorded sweep is itself a watched transaction: let it reach CONFIRMING (1 of the
    # 2 confirmations intake needs) before the node goes away, so any later event is a change.
    wait_for(lambda: WatchedTransaction.objects.filter(
        txid=txid, purpose="sweep", state=TxState.CONFIRMING).exists(), drive=beat,
        message="the sweep tracked to CONFIRMING")
    events_before_outage = AuditEvent.objects.filter(action__startswith="chain.tx").count()
    node_proxy.delay = 4  # above the worker's BITCOIN_RPC_TIMEOUT (2 s)
    node_proxy.mode = mode
    devchain.mine(1)  # the second confirmation happens while Qazyna cannot see the node
    ChainCursor.objects.update_or_create(id=1, defaults={"last_error": ""})
    verify_asset_task.delay(asset.pk)
    wait_for(lambda: ChainCursor.objects.exclude(last_error="").exists(), drive=beat,
             timeout=40, message="a failed poll")
    assert status_of(asset) == VerificationStatus.PENDING
    assert not AuditEvent.objects.filter(action__startswith="asset.v").exists()
    assert AuditEvent.objects.filter(action__startswith="chain.tx").count() == \
        events_before_outage
    node_proxy.mode = "pass"
    wait_for(lambda: status_of(asset) == VerificationStatus.VERIFIED, drive=beat, timeout=60,
             message="verified once the node is back (retries)")
    assert AuditEvent.objects.filter(action="asset.verified").count() == 1


def test_worker_killed_mid_task_finishes_after_restart(celery_worker_process, devchain,
                                                       node_proxy, agency, clerk,
                                                       custody_wallet):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=20_000_000)
    fund_and_record(devchain=devchain, asset=asset, clerk=clerk)
    devchain.mine(2)
    node_proxy.delay, node_proxy.mode = 1.0, "slow"  # each node call takes a second
    verify_asset_task.delay(asset.pk)
    wait_for(lambda: SeizedAsset.objects.filter(pk=asset.pk,
                                                next_check_at__gt=timezone.now()).exists(),
             message="the task claimed the asset (it is running)")
    celery_worker_process.kill(signal.SIGKILL)
    assert status_of(asset) == VerificationStatus.PENDING
    node_proxy.mode = "pass"
    celery_worker_process.start()
    wait_for(lambda: status_of(asset) == VerificationStatus.VERIFIED, drive=beat, timeout=60,
             message="verified after the restart")
    assert AuditEvent.objects.filter(action="asset.verified").count() == 1
    assert not CaseAlert.objects.exists()


def test_same_task_delivered_twice_has_one_effect(celery_worker_process, devchain, agency,
                                                  clerk, custody_wallet):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=20_000_000)
    fund_and_record(devchain=devchain, asset=asset, clerk=clerk)
    devchain.mine(2)
    SeizedAsset.objects.filter(pk=asset.pk).update(next_check_at=timezone.now())
    for _ in range(2):
        verify_asset_task.delay(asset.pk)
        poll_chain.delay()
    wait_for(lambda: status_of(asset) == VerificationStatus.VERIFIED, drive=beat,
             message="verified")
    # a poll sent now runs after both deliveries (solo worker, prefetch 1): wait for it
    sent_at = timezone.now()
    wait_for(lambda: ChainCursor.objects.filter(polled_at__gt=sent_at).exists(),
             drive=poll_chain.delay, message="a later poll")
    for _ in range(2):
        verify_asset_task.delay(asset.pk)
    sent_at = timezone.now()
    wait_for(lambda: ChainCursor.objects.filter(polled_at__gt=sent_at).exists(),
             drive=poll_chain.delay, message="a later poll")
    assert AuditEvent.objects.filter(action="asset.verified").count() == 1
    assert AuditEvent.objects.filter(action="chain.address_watched").count() == 1
