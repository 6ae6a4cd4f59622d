"""The whole ceremony on the development chain: case confiscated → transfer proposed → 2 of 3
approvals → 2 signed PSBTs uploaded (signed by the demo signer) → broadcast → 6 blocks →
settled → ledger credited → case IN_RESERVE → reconciliation balances. Then a reorg deeper
than the threshold after settlement."""

import time

import pytest

from chain import watcher
from custody.models import JournalEntry, Transfer, TransferStatus
from custody.reconciliation import reconcile_all
from custody.selectors import balances, ledger_is_balanced
from intake.models import CaseAlert, CaseStatus
from tests.support.flow import confiscated_case_on_chain
from tools.demo_signer import sign_psbt


def walk_to_broadcast(api, *, case, wallet, bank, bank2, bank3):
    reply = api(bank).post("/api/v1/transfers/", {"case": str(case.public_id),
                                                  "reserve_wallet": str(wallet.public_id)},
                           format="json")
    assert reply.status_code == 201, reply.json()
    transfer = reply.json()
    url = f"/api/v1/transfers/{transfer['id']}/"
    for officer in (bank2, bank3):
        reply = api(officer).post(url + "approve/", {"payload_hash": transfer["payload_hash"]},
                                  format="json")
        assert reply.status_code == 200, reply.json()
    unsigned = api(bank).get(url + "psbt/").json()["psbt"]
    for signer in ("c1", "c3"):
        signed, added = sign_psbt(unsigned, signer)
        assert added == 1
        reply = api(bank).post(url + "signatures/", {"psbt": signed}, format="json")
        assert reply.status_code == 200, reply.json()
    return Transfer.objects.get(public_id=transfer["id"])


@pytest.mark.django_db(transaction=True)
def test_ceremony_and_deep_reorg_on_the_devchain_in_process(
        api, devchain, adapter, custody_wallet, clerk, legal, bank, bank2, bank3,
        reserve_wallet, settings, run_tasks_in_process):
    """Tasks run in-process (opted in) and the watcher is polled by hand."""
    settings.CHAIN_MAX_REORG_DEPTH = 3
    case = confiscated_case_on_chain(devchain=devchain, clerk=clerk, legal=legal)
    watcher.poll(adapter)
    transfer = walk_to_broadcast(api, case=case, wallet=reserve_wallet, bank=bank,
                                 bank2=bank2, bank3=bank3)
    assert transfer.status == TransferStatus.BROADCAST, transfer.failure_reason
    assert transfer.txid in devchain.rpc("getrawmempool")
    watcher.poll(adapter)
    blocks = devchain.mine(6)
    watcher.poll(adapter)
    transfer.refresh_from_db()
    case.refresh_from_db()
    assert transfer.status == TransferStatus.SETTLED
    assert case.status == CaseStatus.IN_RESERVE
    assert balances()["by_case"][str(case.public_id)]["sats"] == transfer.amount_sats
    run, = reconcile_all()
    assert (run.node_sats, run.ledger_sats, run.difference_sats) == (
        transfer.amount_sats, transfer.amount_sats, 0)

    # A reorg of 6 blocks (deeper than the threshold of 3, deeper than settlement) that
    # leaves the transfer out: the compensating entry, an alert, the case back in transfer.
    devchain.rpc("invalidateblock", blocks[0])
    watcher.poll(adapter)
    transfer.refresh_from_db()
    case.refresh_from_db()
    assert transfer.status == TransferStatus.BROADCAST
    assert case.status == CaseStatus.IN_TRANSFER
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.TRANSFER_REVERSED).count() == 1
    assert balances()["total_sats"] == 0 and ledger_is_balanced()
    assert CaseAlert.objects.filter(case=case, kind=CaseAlert.Kind.REORG).exists()


@pytest.mark.worker
def test_ceremony_with_a_real_worker(api, custody_worker, devchain, custody_wallet, clerk,
                                     legal, bank, bank2,
                                     bank3, reserve_wallet):
    from chain.tasks import poll_chain
    from custody.tasks import redrive_transfers_task
    from tests.support.chain import wait_for

    case = confiscated_case_on_chain(devchain=devchain, clerk=clerk, legal=legal)
    started = time.monotonic()
    transfer = walk_to_broadcast(api, case=case, wallet=reserve_wallet, bank=bank,
                                 bank2=bank2, bank3=bank3)
    wait_for(lambda: Transfer.objects.get(pk=transfer.pk).status == TransferStatus.BROADCAST,
             timeout=40, message="the worker to broadcast",
             drive=lambda: redrive_transfers_task.delay())
    transfer.refresh_from_db()
    assert transfer.txid in devchain.rpc("getrawmempool")
    devchain.mine(6)
    wait_for(lambda: Transfer.objects.get(pk=transfer.pk).status == TransferStatus.SETTLED,
             timeout=60, message="the watcher to settle the transfer",
             drive=lambda: poll_chain.delay())
    elapsed = time.monotonic() - started
    print(f"\nproposal → settlement on the devchain with a real worker: {elapsed:.2f}s")
    case.refresh_from_db()
    transfer.refresh_from_db()
    assert case.status == CaseStatus.IN_RESERVE
    entry = JournalEntry.objects.get(transfer=transfer)
    assert entry.kind == JournalEntry.Kind.TRANSFER_SETTLED
    assert balances()["by_wallet"][str(reserve_wallet.public_id)]["sats"] == transfer.amount_sats
    assert ledger_is_balanced()
    run, = reconcile_all()
    assert run.difference_sats == 0 and run.node_sats == transfer.amount_sats
