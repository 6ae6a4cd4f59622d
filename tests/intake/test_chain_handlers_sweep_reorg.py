"""A verified sweep that a reorg takes off the chain withdraws the verification (in-process
watcher on the development chain; the worker path is covered in tests/chain)."""

import pytest

from chain import watcher
from chain.models import TxState, WatchedTransaction
from core.audit import verify_chain
from intake.models import CaseAlert, VerificationStatus
from intake.verification import verify_asset
from tests.support.chain import fund_and_record, make_asset

pytestmark = pytest.mark.django_db


def test_reorged_sweep_reverts_verification_and_reconsider_restores_it(
        devchain, adapter, agency, clerk, custody_wallet, settings):
    settings.INTAKE_CONFIRMATIONS = 1
    settings.CHAIN_MAX_REORG_DEPTH = 5
    watcher.poll(adapter)
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=30_000_000)
    txid = fund_and_record(devchain=devchain, asset=asset, clerk=clerk)
    sweep = WatchedTransaction.objects.get(txid=txid, purpose="sweep")
    assert sweep.ref == str(asset.public_id)

    block = devchain.mine(1)[0]
    watcher.poll(adapter)
    verify_asset(asset.pk, adapter)
    asset.refresh_from_db()
    assert asset.verification_status == VerificationStatus.VERIFIED
    assert asset.observed_amount == 30_000_000

    devchain.rpc("invalidateblock", block)
    watcher.poll(adapter)
    sweep.refresh_from_db()
    asset.refresh_from_db()
    assert sweep.state == TxState.MEMPOOL
    assert asset.verification_status == VerificationStatus.PENDING
    assert asset.verified_at is None
    alert = CaseAlert.objects.get(case=case, kind=CaseAlert.Kind.REORG)
    assert txid in alert.message

    devchain.rpc("reconsiderblock", block)
    watcher.poll(adapter)
    verify_asset(asset.pk, adapter)
    asset.refresh_from_db()
    assert asset.verification_status == VerificationStatus.VERIFIED
    assert verify_chain().ok
