"""Two processes learning the same watched transaction's inputs at once: the tracker (or the
poller) holding the row, and intake verification, which holds nothing yet. Found in CI as
"deadlock detected": the one that holds nothing inserted the inputs first and then waited for
the row (the foreign key's FOR KEY SHARE), while the holder's own insert of the same inputs
waited for it. learn_inputs takes the row first, so the second caller waits and finds the
inputs known."""

import threading
import time

import pytest
from django.db import connection, transaction

from chain.audit import ChainAction
from chain.models import WatchedInput, WatchedTransaction
from chain.services import learn_inputs, watch_transaction
from core.models import AuditEvent
from tests.support.concurrency import run_at_once
from tests.support.services import require_postgresql

SWEEP = "ab" * 32
INPUTS = [f"{'cd' * 32}:0", f"{'ef' * 32}:1"]


@pytest.mark.django_db(transaction=True)
def test_learning_inputs_while_the_tracker_holds_the_row_never_deadlocks():
    require_postgresql(connection, why="row locks and deadlock detection are PostgreSQL's")
    wtx = watch_transaction(txid=SWEEP, purpose=WatchedTransaction.Purpose.SWEEP, ref="asset-1")
    holding = threading.Event()

    def tracker():
        # tx_apply_status's shape: lock the row, (ask the node), learn the inputs.
        with transaction.atomic():
            WatchedTransaction.objects.select_for_update().get(pk=wtx.pk)
            holding.set()
            time.sleep(1.5)  # the other side reaches its insert meanwhile
            return learn_inputs(watched_tx_id=wtx.pk, inputs=INPUTS)

    def verification():
        # intake.verification's shape: nothing held, one short transaction.
        holding.wait(timeout=10)
        time.sleep(0.3)
        with transaction.atomic():
            return learn_inputs(watched_tx_id=wtx.pk, inputs=INPUTS)

    results = run_at_once(tracker, verification)
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert sorted(value for _, value in results) == [0, 2]  # learnt once, by the holder first
    assert sorted(f"{w.txid}:{w.vout}" for w in WatchedInput.objects.filter(watched_tx=wtx)) \
        == sorted(INPUTS)
    assert AuditEvent.objects.filter(action=str(ChainAction.TX_INPUTS_LEARNED)).count() == 1
