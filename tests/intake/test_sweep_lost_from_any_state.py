"""Issue 11 point 1, "from any prior state": whatever the asset's verification said and
wherever its sweep was on chain, a sweep replaced or double-spent makes the asset a
DISCREPANCY at once, its observed amount what the remaining sweeps pay (none here), with an
alert that says "replaced" or "double spend" and names the conflicting transaction. The
chain's report is handed to intake's handler directly (the watcher's own path is
test_chain_sweep_conflicts.py, on both backends); the result is read over HTTP."""

import pytest

from chain.events import TxStateChanged
from chain.models import TxState, WatchedTransaction
from intake.chain_handlers import sweep_changed
from intake.models import SeizedAsset, SweepTransaction, VerificationStatus
from tests.support.api import url
from tests.support.chain import make_asset

pytestmark = pytest.mark.django_db

SWEEP, WINNER = "5a" * 32, "7b" * 32


@pytest.mark.parametrize("verification", [VerificationStatus.PENDING,
                                          VerificationStatus.VERIFIED,
                                          VerificationStatus.DISCREPANCY])
@pytest.mark.parametrize("chain_before", [TxState.PENDING, TxState.MEMPOOL,
                                          TxState.CONFIRMING, TxState.CONFIRMED])
@pytest.mark.parametrize("lost_as", [TxState.REPLACED, TxState.CONFLICTED])
def test_a_lost_sweep_is_a_discrepancy_from_any_prior_state(
        api, agency, clerk, custody_wallet, verification, chain_before, lost_as):
    case, asset = make_asset(agency=agency, clerk=clerk, declared_sats=30_000_000)
    SweepTransaction.objects.create(asset=asset, txid=SWEEP, recorded_by=clerk)
    SeizedAsset.objects.filter(pk=asset.pk).update(verification_status=verification,
                                                   observed_amount=30_000_000)
    sweep_changed(TxStateChanged(
        watched_tx_id=0, txid=SWEEP, purpose=WatchedTransaction.Purpose.SWEEP,
        ref=str(asset.public_id), old_state=chain_before, new_state=lost_as, block_hash="",
        block_height=None, confirmations=0, conflicting_txid=WINNER))

    client = api(clerk)
    body = client.get(url(case.public_id, sub="assets")).json()
    [seen] = body["results"] if isinstance(body, dict) else body
    assert (seen["verification_status"], seen["observed_amount"]) == ("DISCREPANCY", 0)
    alerts = client.get("/api/v1/alerts/").json()
    alerts = alerts["results"] if isinstance(alerts, dict) else alerts
    [alert] = [a for a in alerts if a["kind"] in ("REPLACED", "DOUBLE_SPEND")]
    word = "Replaced" if lost_as == TxState.REPLACED else "Double spend"
    assert alert["kind"] == ("REPLACED" if lost_as == TxState.REPLACED else "DOUBLE_SPEND")
    assert alert["message"].startswith(word) and WINNER in alert["message"]
