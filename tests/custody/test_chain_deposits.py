"""Deposits at the next block (issue 11 point 6), on the development chain and on a real
Bitcoin Core alike (chain_node): coins paid to a reserve address are a deposit from the poll
that sees them (in the mempool, or in the block where they appear), their confirmations
follow every poll (no reconciliation in between), and proof of reserves states the tip of
the last poll and the balance there, over HTTP."""

import pytest
from django.db import transaction

from chain import watcher
from chain.adapter import get_adapter
from custody.models import ReserveWallet
from custody.services.wallets import allocate_reserve_address

pytestmark = pytest.mark.django_db

MINED = 50_000_000
PAYOUT = 31_250_000


@pytest.fixture
def reserve_address(reserve_wallet):
    with transaction.atomic():
        wallet = ReserveWallet.objects.select_for_update().get(pk=reserve_wallet.pk)
        return allocate_reserve_address(wallet)


def deposits(client):
    response = client.get("/api/v1/deposits/")
    assert response.status_code == 200, response.content
    return {d["txid"]: d for d in response.json()["results"]}


def proof(client, wallet):
    response = client.get("/api/v1/reports/proof-of-reserves/")
    assert response.status_code == 200, response.content
    [found] = [w for w in response.json()["wallets"] if w["wallet"] == str(wallet.public_id)]
    return found


def test_a_deposit_is_seen_at_the_next_block_and_followed_live(
        chain_node, api, bank, reserve_wallet, reserve_address):
    adapter = get_adapter()
    client = api(bank)
    watcher.poll(adapter)

    # In the mempool: a deposit at once, unconfirmed, and not yet in the reserve's balance.
    first = chain_node.fund(reserve_address.address, MINED)
    watcher.poll(adapter)
    seen = deposits(client)[first]
    assert (seen["amount_sats"], seen["confirmations"], seen["block_height"]) == (MINED, 0, None)
    assert seen["status"] == "UNATTRIBUTED"
    state = proof(client, reserve_wallet)
    assert state["unconfirmed_sats"] == MINED and state["node_sats"] == 0

    # Mined: the next poll gives its block and 1 confirmation.
    chain_node.mine(1)
    watcher.poll(adapter)
    tip = adapter.tip()
    seen = deposits(client)[first]
    assert (seen["confirmations"], seen["block_height"]) == (1, tip.height)

    # A second payout funded and mined before any poll: found in the block where it appears.
    second = chain_node.fund(reserve_address.address, PAYOUT)
    chain_node.mine(1)
    watcher.poll(adapter)
    tip = adapter.tip()
    now = deposits(client)
    assert (now[second]["confirmations"], now[second]["block_height"]) == (1, tip.height)
    assert now[first]["confirmations"] == 2  # followed, not frozen

    # Three more blocks, three more confirmations: no reconciliation in between.
    chain_node.mine(3)
    watcher.poll(adapter)
    now = deposits(client)
    assert (now[first]["confirmations"], now[second]["confirmations"]) == (5, 4)

    # Proof of reserves: the tip of the last poll (the node's), and the balance there.
    tip = adapter.tip()
    state = proof(client, reserve_wallet)
    assert (state["tip_height"], state["tip_hash"]) == (tip.height, tip.block_hash)
    assert state["checked_at"] is not None
    assert state["node_sats"] == MINED + PAYOUT and state["unconfirmed_sats"] == 0
    [row] = [a for a in state["addresses"] if a["address"] == reserve_address.address]
    assert row["balance_sats"] == MINED + PAYOUT
    # Waiting for attribution: on the node, not in the ledger, and said so.
    assert state["ledger_sats"] == 0 and state["unattributed_sats"] == MINED + PAYOUT
    assert state["difference_sats"] == 0
    assert state["last_reconciliation"] is None

    # One more block: the proof moves with the poll, never an older snapshot.
    chain_node.mine(1)
    watcher.poll(adapter)
    assert proof(client, reserve_wallet)["tip_height"] == adapter.tip().height == tip.height + 1

    # A reorg takes away the block of the second payout (and those above it): the next poll
    # says so, without a block coming in; mined again, it is followed again.
    block_of_second = chain_node.rpc("getblockhash", now[second]["block_height"])
    chain_node.rpc("invalidateblock", block_of_second)
    watcher.poll(adapter)
    now = deposits(client)
    assert (now[second]["confirmations"], now[second]["block_height"]) == (0, None)
    assert now[first]["confirmations"] == 1
    state = proof(client, reserve_wallet)
    assert state["tip_height"] == adapter.tip().height and state["node_sats"] == MINED
