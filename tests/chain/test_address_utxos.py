"""The UTXOs of given addresses without a walk over the UTXO set: the node's watch-only
descriptor wallet (adapter.address_utxos), and scantxoutset kept for the reconciliation
cross-check only (one scan at a time, its own error and timeout). Every test runs on the
development chain and on a real Bitcoin Core."""

import os
import threading
import time
from decimal import Decimal

import pytest
from embit.ec import PrivateKey
from embit.script import p2wpkh

from chain import services, watcher
from chain.adapter import ChainAdapter, _RpcError, get_adapter
from chain.errors import NodeMisconfigured, NodeUnavailable, ScanInProgress
from chain.services import watching
from core.bitcoin import embit_network
from custody import chainio
from tests.support.netproxy import FlakyProxy

WATCH = "qazyna-watch"


@pytest.fixture
def adapter(chain_node):
    return get_adapter()


@pytest.fixture
def methods(adapter, monkeypatch):
    """The RPC methods the adapter sends, in order."""
    sent = []
    raw_call = adapter._raw_call

    def spy(method, *params, **kwargs):
        sent.append(method)
        return raw_call(method, *params, **kwargs)

    monkeypatch.setattr(adapter, "_raw_call", spy)
    return sent


def _foreign_address():
    """An address no wallet of the node holds a key for (the funding wallet's coin
    selection, random in Core, can never spend what is paid to it)."""
    return p2wpkh(PrivateKey(os.urandom(32)).get_public_key()).address(
        embit_network("regtest"))


def _spend(node, txid, vout, value_sats, fee_sats=2_000):
    """Spend one coin of the funding wallet's own address (it holds the key); the txid."""
    destination = node.new_address()
    amount = Decimal(value_sats - fee_sats) / 100_000_000
    unsigned = node.rpc("createrawtransaction", [{"txid": txid, "vout": vout}],
                        [{destination: amount}])
    signed = node.rpc("signrawtransactionwithwallet", unsigned, wallet="miner")
    return node.rpc("sendrawtransaction", signed["hex"])


def _vout(node, txid, address):
    raw = node.rpc("getrawtransaction", txid, 1)
    [out] = [o for o in raw["vout"] if o["scriptPubKey"].get("address") == address]
    return out["n"]


def test_confirmed_coins_of_an_address_come_from_the_wallet_not_a_scan(chain_node, adapter,
                                                                       methods):
    address = _foreign_address()
    first = chain_node.fund(address, 2_000_000)
    second = chain_node.fund(address, 3_000_000)
    [block] = chain_node.mine(1)
    chain_node.fund(address, 4_000_000)  # unconfirmed: not in the UTXO set yet
    utxos = adapter.address_utxos([address])
    assert "scantxoutset" not in methods
    assert "createwallet" in methods and "importdescriptors" in methods  # first use
    height = chain_node.rpc("getblockheader", block)["height"]
    assert sorted((u.txid, u.value_sats) for u in utxos) == sorted(
        [(first, 2_000_000), (second, 3_000_000)])
    assert {(u.address, u.height, u.confirmations) for u in utxos} == {(address, height, 1)}
    assert all(u.script_pubkey == chain_node.rpc("validateaddress", address)["scriptPubKey"]
               for u in utxos)
    # the same answer as the UTXO-set scan it replaces
    assert utxos == adapter.scan_utxos([address])
    methods.clear()
    chain_node.mine(1)  # confirms the third coin too
    assert sorted(u.confirmations for u in adapter.address_utxos([address])) == [1, 2, 2]
    assert "importdescriptors" not in methods and "createwallet" not in methods


def test_coins_spent_in_the_mempool_stay_listed_as_in_the_utxo_set(chain_node, adapter):
    """The watchers must know a coin to see it leave: a spend still in the mempool does not
    remove it (listunspent alone would), a mined one does."""
    address = chain_node.new_address()
    txid = chain_node.fund(address, 5_000_000)
    chain_node.mine(1)
    vout = _vout(chain_node, txid, address)
    spend = _spend(chain_node, txid, vout, 5_000_000)
    assert spend in chain_node.rpc("getrawmempool")
    [utxo] = adapter.address_utxos([address])
    assert (utxo.txid, utxo.vout, utxo.value_sats, utxo.confirmations) == \
        (txid, vout, 5_000_000, 1)
    assert adapter.address_utxos([address]) == adapter.scan_utxos([address])
    chain_node.mine(1)
    assert adapter.address_utxos([address]) == [] == adapter.scan_utxos([address])


def test_a_reorg_takes_coins_away_and_brings_them_back(chain_node, adapter):
    address = chain_node.new_address()
    txid = chain_node.fund(address, 1_500_000)
    [block] = chain_node.mine(1)
    assert [u.txid for u in adapter.address_utxos([address])] == [txid]
    chain_node.rpc("invalidateblock", block)
    assert adapter.address_utxos([address]) == []  # back in the mempool: unconfirmed
    chain_node.rpc("reconsiderblock", block)
    [utxo] = adapter.address_utxos([address])
    assert (utxo.txid, utxo.height) == (txid, chain_node.rpc("getblockheader", block)["height"])


@pytest.mark.django_db
def test_watch_address_registers_it_with_the_node_once_committed(chain_node, adapter, methods,
                                                                 monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(watching, "enqueue", lambda *args: queued.append(args))
    address = chain_node.new_address()
    with django_capture_on_commit_callbacks(execute=True):
        watched = services.watch_address(address=address, purpose="reserve", ref="wallet-1")
    assert queued == [("chain.watch_on_node", watched.pk)]
    services.watch_address(address=address, purpose="reserve", ref="wallet-1")
    assert len(queued) == 1  # once
    txid = chain_node.fund(address, 2_500_000)
    assert watcher.register_address(watched.pk, adapter)
    info = chain_node.rpc("getaddressinfo", address, wallet=WATCH)
    assert info["ismine"] and info["parent_desc"].startswith(f"addr({address})#")
    chain_node.mine(1)
    methods.clear()
    assert [u.txid for u in adapter.address_utxos([address])] == [txid]
    assert "importdescriptors" not in methods  # the node's wallet knew it already


def test_the_watch_wallet_is_loaded_again_after_the_node_dropped_it(chain_node, adapter,
                                                                   methods):
    address = chain_node.new_address()
    txid = chain_node.fund(address, 1_000_000)
    chain_node.mine(1)
    assert [u.txid for u in adapter.address_utxos([address])] == [txid]
    chain_node.rpc("unloadwallet", WATCH)  # as after a node restart without autoload
    methods.clear()
    assert [u.txid for u in adapter.address_utxos([address])] == [txid]
    assert "loadwallet" in methods and "createwallet" not in methods
    assert WATCH in chain_node.rpc("listwallets")


def test_a_transfer_proposal_takes_the_custody_coins_from_the_wallet(chain_node, adapter,
                                                                     methods):
    address = _foreign_address()
    txid = chain_node.fund(address, 7_000_000)
    chain_node.mine(1)
    [coin] = chainio.custody_utxos(address)
    assert (coin.txid, coin.value_sats) == (txid, 7_000_000)
    assert coin.prev_tx_hex == chain_node.rpc("getrawtransaction", txid)
    assert "scantxoutset" not in methods


def test_a_node_without_wallet_support_is_misconfigured(monkeypatch):
    node = ChainAdapter(url="http://u:p@127.0.0.1:1", network="regtest")
    node._checked = True

    def no_wallet(method, *params, **kwargs):  # bitcoind -disablewallet
        raise _RpcError(-32601, "Method not found")

    monkeypatch.setattr(node, "_raw_call", no_wallet)
    with pytest.raises(NodeMisconfigured) as exc:
        node.address_utxos(["bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"])
    assert "-disablewallet" in str(exc.value)


# --- scantxoutset: the reconciliation cross-check ----------------------------------------
SLOW_RANGE = {"devchain": 20_000, "bitcoind": 60_000}  # a scan of a few seconds on each
XPUB = ("tpubDFZc9hCuY5FPEMbMWqfSgDV9K6swLU4zdqZ3zzCwWfGMRsXZEse98mu4H5vAMXmoXzTJyqeAY8qntXB8"
        "BnyiS7WFgYmZqRyj6pwJNmEhbH3")


def test_a_second_scan_is_refused_with_its_own_error(chain_node, adapter):
    address = chain_node.new_address()
    chain_node.fund(address, 1_000_000)
    chain_node.mine(1)
    busy = threading.Thread(target=chain_node.rpc, args=(
        "scantxoutset", "start",
        [{"desc": f"wpkh({XPUB}/0/*)", "range": SLOW_RANGE[chain_node.kind]}]))
    busy.start()
    try:
        deadline = time.monotonic() + 10
        while chain_node.rpc("scantxoutset", "status") is None:
            assert time.monotonic() < deadline, "the slow scan never started"
            time.sleep(0.01)
        assert chain_node.rpc("getblockcount") == 111  # other calls are served meanwhile
        with pytest.raises(ScanInProgress) as exc:
            adapter.scan_utxos([address])
        assert isinstance(exc.value, NodeUnavailable)  # a wait: tasks retry it
        assert "already in progress" in str(exc.value)
        assert len(adapter.address_utxos([address])) == 1  # the hot path needs no scan
    finally:
        busy.join(timeout=60)
    assert len(adapter.scan_utxos([address])) == 1


def test_the_scan_alone_gets_the_longer_timeout(chain_node, settings):
    proxy = FlakyProxy(chain_node.port)
    try:
        slow_node = ChainAdapter(url=proxy.url(), network="regtest", timeout=1)
        slow_node.tip()  # checked while the node is quick
        proxy.mode, proxy.delay = "slow", 1.5
        with pytest.raises(NodeUnavailable):
            slow_node.tip()
        settings.BITCOIN_RPC_SCAN_TIMEOUT = 10
        assert slow_node.scan_utxos([chain_node.new_address()]) == []
    finally:
        proxy.close()
