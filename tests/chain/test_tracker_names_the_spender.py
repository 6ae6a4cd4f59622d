"""The per-transaction tracker names the transaction that took a watched transaction's input
when the node can tell (gettxspendingprevout: a mempool spender), and says explicitly that it
cannot when the spender was mined (Core v30 looks only in the mempool and keeps no spender
index). The tracker alone, no poll in between: the poller names a spender it reads in a block
or the mempool itself (test_watcher_poll.py). Both backends (chain_node)."""

import uuid

import pytest

from chain import registry, watcher
from chain.adapter import Outpoint, get_adapter
from chain.models import TxState
from chain.services import watch_transaction
from core.models import AuditEvent
from tests.support.sweeps import coin_of_wallet, signed_spend, spend_coin

pytestmark = pytest.mark.django_db

FEE = 10_000


@pytest.fixture
def adapter(chain_node):
    return get_adapter()


@pytest.fixture(autouse=True)
def _no_purpose_handlers(monkeypatch):
    monkeypatch.setattr(registry, "_tx", {})  # made-up transfers: nobody above is told


def watched_in_mempool(node, adapter):
    coin = coin_of_wallet(node, 5_000_000)
    txid = spend_coin(node, coin, node.new_address(), FEE)
    wtx = watch_transaction(txid=txid, purpose="transfer", ref=str(uuid.uuid4()),
                            inputs=[coin[:2]])
    watcher.track(wtx.pk, adapter)
    wtx.refresh_from_db()
    assert wtx.state == TxState.MEMPOOL
    return wtx, coin


def last_reason(wtx):
    return AuditEvent.objects.filter(object_id=str(wtx.public_id)).order_by("-id")[0].reason


def test_the_adapter_names_mempool_spenders(chain_node, adapter):
    coin = coin_of_wallet(chain_node, 3_000_000)
    spender = spend_coin(chain_node, coin, chain_node.new_address(), FEE)
    [named, unspent] = adapter.mempool_spenders([Outpoint(coin[0], coin[1]),
                                                 Outpoint(spender, 0)])
    assert (named.outpoint, named.spending_txid) == (Outpoint(coin[0], coin[1]), spender)
    assert unspent.spending_txid is None
    assert adapter.mempool_spenders([]) == ()


def test_a_replacement_in_the_mempool_is_named_by_the_tracker(chain_node, adapter):
    wtx, coin = watched_in_mempool(chain_node, adapter)
    replacement = spend_coin(chain_node, coin, chain_node.new_address(), 4 * FEE)
    watcher.track(wtx.pk, adapter)
    wtx.refresh_from_db()
    assert (wtx.state, wtx.conflicting_txid) == (TxState.REPLACED, replacement)
    assert replacement in last_reason(wtx) and "gettxspendingprevout" in last_reason(wtx)


def test_a_mined_double_spend_is_conflicted_and_the_tracker_says_it_cannot_name_it(
        chain_node, adapter):
    wtx, coin = watched_in_mempool(chain_node, adapter)
    winner = signed_spend(chain_node, coin, chain_node.new_address(), 4 * FEE)
    chain_node.rpc("generateblock", chain_node.new_address(), [winner])
    assert wtx.txid not in chain_node.rpc("getrawmempool")
    watcher.track(wtx.pk, adapter)
    wtx.refresh_from_db()
    assert (wtx.state, wtx.conflicting_txid) == (TxState.CONFLICTED, "")
    reason = last_reason(wtx)
    assert "spent in a block" in reason and "cannot name the spender" in reason
    # The poller, reading that block, names it.
    watcher.poll(adapter)
    wtx.refresh_from_db()
    winner_txid = chain_node.rpc("decoderawtransaction", winner)["txid"]
    assert (wtx.state, wtx.conflicting_txid) == (TxState.CONFLICTED, winner_txid)
