"""A deposit whose transaction vanishes before it is attributed (issue 11, the gap left after
point 6): dropped from the mempool and never mined, replaced there, or double-spent by a
mined transaction, it leaves the attribution queue named DROPPED / REPLACED / CONFLICTED
(with the spender when the watchers can name it), with an audit event; a proposed
attribution is withdrawn with an alert; proof of reserves never counts it. Over HTTP, on the
development chain and on Bitcoin Core v30 alike (chain_node)."""

import pytest
from django.db import transaction

from chain import watcher
from chain.adapter import get_adapter
from chain.models import TxState, WatchedTransaction
from core.models import AuditEvent
from custody.models import ReserveWallet
from custody.services.wallets import allocate_reserve_address
from tests.support.second_factor import otp
from tests.support.sweeps import coin_of_wallet, double_spend_in_a_reorg, spend_coin

pytestmark = pytest.mark.django_db

PAYOUT = 31_250_000
FEE = 10_000


@pytest.fixture
def adapter(chain_node):
    return get_adapter()


@pytest.fixture
def reserve_address(reserve_wallet):
    with transaction.atomic():
        wallet = ReserveWallet.objects.select_for_update().get(pk=reserve_wallet.pk)
        return allocate_reserve_address(wallet)


def deposit_of(client, txid):
    response = client.get("/api/v1/deposits/")
    assert response.status_code == 200, response.content
    return next(d for d in response.json()["results"] if d["txid"] == txid)


def queue(client):
    """The attribution queue: what waits for an officer."""
    response = client.get("/api/v1/deposits/", {"status": "UNATTRIBUTED"})
    return {d["txid"] for d in response.json()["results"]}


def proof(client, wallet):
    response = client.get("/api/v1/reports/proof-of-reserves/")
    assert response.status_code == 200, response.content
    return next(w for w in response.json()["wallets"] if w["wallet"] == str(wallet.public_id))


def actions(deposit_id):
    return [e.action for e in AuditEvent.objects.filter(object_id=deposit_id).order_by("id")]


def alerts(client):
    response = client.get("/api/v1/alerts/")
    assert response.status_code == 200, response.content
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


def test_a_deposit_dropped_from_the_mempool_leaves_the_queue(
        chain_node, adapter, api, bank, reserve_wallet, reserve_address):
    client = api(bank)
    watcher.poll(adapter)
    txid = chain_node.fund(reserve_address.address, PAYOUT)
    watcher.poll(adapter)
    seen = deposit_of(client, txid)
    assert seen["status"] == "UNATTRIBUTED" and txid in queue(client)
    wtx = WatchedTransaction.objects.get(txid=txid, purpose="deposit")
    assert wtx.state == TxState.MEMPOOL  # watched from its first sighting
    assert proof(client, reserve_wallet)["unconfirmed_sats"] == PAYOUT

    raw = chain_node.rpc("getrawtransaction", txid)
    chain_node.restart_without_mempool()  # evicted: never mined, nothing spends its inputs
    watcher.poll(adapter)  # gone from the mempool: the tracker is due
    watcher.track(wtx.pk, adapter)

    gone = deposit_of(client, txid)
    assert (gone["status"], gone["conflicting_txid"], gone["confirmations"]) == (
        "DROPPED", "", 0)
    assert txid not in queue(client)
    assert "deposit.dropped" in actions(seen["id"])
    state = proof(client, reserve_wallet)
    assert (state["unconfirmed_sats"], state["unattributed_sats"], state["node_sats"]) == (
        0, 0, 0)
    assert not [a for a in alerts(client) if a["kind"] == "DEPOSIT_VANISHED"]  # none pending
    # Nothing to attribute any more.
    reply = client.post(f"/api/v1/deposits/{seen['id']}/attribute/",
                        {"source": "STATE_MINING", "otp": otp(bank)}, format="json")
    assert reply.status_code == 409, reply.json()

    # Sent again: the next poll sees it in the mempool, and it waits for attribution anew.
    assert chain_node.rpc("sendrawtransaction", raw) == txid
    watcher.poll(adapter)
    back = deposit_of(client, txid)
    assert back["status"] == "UNATTRIBUTED" and txid in queue(client)
    assert actions(seen["id"])[-1] == "deposit.reappeared"
    assert proof(client, reserve_wallet)["unconfirmed_sats"] == PAYOUT


def test_a_deposit_replaced_in_the_mempool_is_named_with_its_replacement_in_one_poll(
        chain_node, adapter, api, bank, reserve_wallet, reserve_address):
    client = api(bank)
    watcher.poll(adapter)
    coin = coin_of_wallet(chain_node, PAYOUT + FEE)
    txid = spend_coin(chain_node, coin, reserve_address.address, FEE)
    watcher.poll(adapter)
    assert deposit_of(client, txid)["status"] == "UNATTRIBUTED"

    replacement = spend_coin(chain_node, coin, chain_node.new_address(), 4 * FEE)
    watcher.poll(adapter)  # one poll

    gone = deposit_of(client, txid)
    assert (gone["status"], gone["conflicting_txid"]) == ("REPLACED", replacement)
    assert txid not in queue(client)
    assert "deposit.replaced" in actions(gone["id"])
    assert proof(client, reserve_wallet)["unconfirmed_sats"] == 0

    # Its replacement mined: final, and named as such.
    chain_node.mine(1)
    watcher.poll(adapter)
    gone = deposit_of(client, txid)
    assert (gone["status"], gone["conflicting_txid"]) == ("CONFLICTED", replacement)
    state = proof(client, reserve_wallet)
    assert (state["node_sats"], state["unattributed_sats"]) == (0, 0)


def test_a_proposed_deposit_double_spent_in_a_reorg_is_withdrawn_with_an_alert(
        chain_node, adapter, api, bank, bank2, reserve_wallet, reserve_address, settings):
    client = api(bank)
    watcher.poll(adapter)
    coin = coin_of_wallet(chain_node, PAYOUT + FEE)
    txid = spend_coin(chain_node, coin, reserve_address.address, FEE)
    [block] = chain_node.mine(1)
    chain_node.mine(settings.SETTLEMENT_CONFIRMATIONS["regtest"] - 1)
    watcher.poll(adapter)
    seen = deposit_of(client, txid)
    reply = client.post(f"/api/v1/deposits/{seen['id']}/attribute/",
                        {"source": "STATE_MINING", "note": "pool payout",
                         "otp": otp(bank)}, format="json")
    assert reply.status_code == 200, reply.json()
    assert reply.json()["status"] == "PROPOSED"
    assert proof(client, reserve_wallet)["unattributed_sats"] == PAYOUT

    winner = double_spend_in_a_reorg(chain_node, block_hash=block, coin=coin,
                                     fee_sats=4 * FEE,
                                     extra_blocks=settings.SETTLEMENT_CONFIRMATIONS["regtest"])
    watcher.poll(adapter)  # one poll

    gone = deposit_of(client, txid)
    assert (gone["status"], gone["conflicting_txid"]) == ("CONFLICTED", winner)
    assert (gone["source"], gone["attributed_by"], gone["block_height"]) == ("", None, None)
    assert actions(gone["id"])[-2:] == ["deposit.attribution_withdrawn", "deposit.conflicted"]
    [alert] = [a for a in alerts(client) if a["kind"] == "DEPOSIT_VANISHED"]
    assert txid in alert["message"] and winner in alert["message"]
    assert "withdrawn" in alert["message"]
    state = proof(client, reserve_wallet)
    assert (state["node_sats"], state["unattributed_sats"], state["ledger_sats"]) == (0, 0, 0)
    assert state["difference_sats"] == 0
    # A second officer can no longer approve what was withdrawn.
    reply = api(bank2).post(f"/api/v1/deposits/{seen['id']}/approve-attribution/",
                            {"otp": otp(bank2)}, format="json")
    assert reply.status_code == 409, reply.json()
