"""bitcoinlib's known traps and the node's legacy JSON-RPC style, each pinned. The traps that
are the node's run on the devchain and on a real Bitcoin Core (chain_node)."""

from decimal import Decimal

import pytest
from bitcoinlib.keys import Key
from bitcoinlib.networks import Network
from bitcoinlib.services.bitcoind import BitcoindClient
from bitcoinlib.transactions import Transaction
from embit import ec

from chain import adapter as adapter_module
from chain.adapter import ChainAdapter, address_from_script, get_adapter, is_devchain, txid_of
from chain.errors import (
    ChainError,
    DevchainRefused,
    NodeUnavailable,
    TransactionRejected,
    UnknownTransaction,
)
from core.bitcoin import embit_network


@pytest.fixture
def node_adapter(chain_node):
    """The adapter for the node of this run (devchain or bitcoind)."""
    return get_adapter()


def test_bitcoinlib_regtest_has_mainnet_prefixes_ours_match_core():
    net = Network("regtest")
    assert (net.prefix_address, net.prefix_address_p2sh, net.prefix_wif) == \
        (b"\x00", b"\x05", b"\x80")  # the trap: mainnet legacy prefixes
    key = ec.PrivateKey(b"\x01" * 32)
    from embit.script import p2pkh, p2sh, p2wpkh

    p2pkh_spk = p2pkh(key.get_public_key()).data.hex()
    assert address_from_script(p2pkh_spk, "regtest")[0] in "mn"  # 0x6f
    p2sh_spk = p2sh(p2wpkh(key.get_public_key())).data.hex()
    assert address_from_script(p2sh_spk, "regtest")[0] == "2"  # 0xc4
    assert address_from_script(p2wpkh(key.get_public_key()).data.hex(),
                               "regtest").startswith("bcrt1")
    assert embit_network("regtest")["wif"] == b"\xef"


def test_node_reported_legacy_address_matches_ours(chain_node, node_adapter):
    key = ec.PrivateKey(b"\x02" * 32)
    from embit.script import p2pkh

    legacy = p2pkh(key.get_public_key()).address(embit_network("regtest"))
    txid = chain_node.fund(legacy, 1_000_000)
    status = node_adapter.get_transaction(txid)
    [out] = [o for o in status.outputs if o.value_sats == 1_000_000]
    assert out.address == legacy
    node = chain_node.rpc("getrawtransaction", txid, 1)["vout"][out.n]["scriptPubKey"][
        "address"]
    assert node == legacy


def test_sign_does_not_refresh_bitcoinlib_txid_ours_is_from_the_bytes():
    key = Key(network="testnet")
    tx = Transaction(network="testnet")
    tx.add_input("a" * 64, 0, keys=key.public(), script_type="sig_pubkey", value=100_000)
    tx.add_output(90_000, key.address())
    unsigned_txid = tx.txid
    tx.sign(key)
    assert tx.txid == unsigned_txid  # the trap
    assert txid_of(tx.raw_hex()) != unsigned_txid


def test_no_cache_survives_a_chain_reset(devchain, adapter):
    txid = devchain.fund(devchain.new_address(), 1_000_000)
    devchain.mine(1)
    assert adapter.get_transaction(txid).confirmations == 1
    devchain.reset()
    with pytest.raises(UnknownTransaction):
        adapter.get_transaction(txid)
    assert adapter.tip().height == 0
    assert not hasattr(adapter, "cache") and not hasattr(adapter._client, "cache")


def test_tip_is_not_the_cached_block_count(chain_node, node_adapter):
    height = node_adapter.tip().height
    for n in range(1, 4):
        chain_node.mine(1)
        assert node_adapter.tip().height == height + n  # at once, not after 3 s


def test_estimatesmartfee_without_feerate_uses_our_fallback(chain_node, node_adapter,
                                                             settings):
    client = BitcoindClient("regtest", settings.BITCOIN_RPC_URL, 100_000_000)
    with pytest.raises(Exception) as exc:  # noqa: PT011 - bitcoinlib raises JSONRPCException
        client.estimatefee(6)  # falls back to the removed estimatefee → HTTP 404
    assert "Method not found" in str(exc.value)
    settings.FALLBACK_FEE_RATE_SAT_VB = 12
    assert node_adapter.estimate_fee_rate_sat_vb() == 12
    settings.FALLBACK_FEE_RATE_SAT_VB, settings.MAX_FEE_RATE_SAT_VB = 900, 500
    assert node_adapter.estimate_fee_rate_sat_vb() == 500


def test_rpc_errors_500_and_unknown_method_404(chain_node, node_adapter):
    with pytest.raises(UnknownTransaction):
        node_adapter.get_transaction("ab" * 32)  # HTTP 500, code -5
    with pytest.raises(ChainError) as unknown:
        node_adapter.call("estimatefee", 6)  # HTTP 404, code -32601
    assert unknown.value.code == -32601
    with pytest.raises(TransactionRejected) as exc:
        node_adapter.broadcast("0200000001" + "00" * 41 + "0000000000")
    assert exc.value.code in (-22, -25, -26)


def test_node_down_and_timeout_are_node_unavailable(devchain, node_proxy):
    down = ChainAdapter(url="http://u:p@127.0.0.1:9", network="regtest", timeout=1)
    with pytest.raises(NodeUnavailable):
        down.tip()
    node_proxy.mode, node_proxy.delay = "slow", 2
    slow = ChainAdapter(url=node_proxy.url(), network="regtest", timeout=1)
    try:
        with pytest.raises(NodeUnavailable):
            slow.tip()
    finally:
        node_proxy.mode = "pass"


def test_broadcast_returns_the_txid_of_the_bytes_and_is_idempotent(chain_node, node_adapter):
    raw = chain_node.rpc("getrawtransaction",
                         chain_node.fund(chain_node.new_address(), 10_000))
    first = node_adapter.broadcast(raw)
    assert first.txid == txid_of(raw)
    assert node_adapter.broadcast(raw).txid == first.txid


def test_scan_utxos_needs_no_wallet(chain_node, node_adapter):
    address = chain_node.new_address()
    txid = chain_node.fund(address, 2_000_000)
    chain_node.mine(1)
    [utxo] = node_adapter.scan_utxos([address])
    assert (utxo.txid, utxo.value_sats, utxo.address, utxo.confirmations) == \
        (txid, 2_000_000, address, 1)


def test_devchain_detection_and_refusal(monkeypatch):
    assert is_devchain({"subversion": "/Satoshi:30.0.0/devchain/"}, {})
    assert is_devchain({"subversion": "/Satoshi:30.0.0/"}, {"warnings": ["devchain: test"]})
    assert not is_devchain({"subversion": "/Satoshi:30.0.0/", "warnings": []}, {"warnings": []})
    refusing = ChainAdapter(url="http://u:p@127.0.0.1:1", network="regtest",
                            devchain_allowed=False)
    replies = {"getnetworkinfo": {"subversion": "/Satoshi:30.0.0/devchain/", "warnings": []},
               "getblockchaininfo": {"warnings": []}}
    monkeypatch.setattr(refusing, "_raw_call", lambda method, *p: replies[method])
    with pytest.raises(DevchainRefused):
        refusing.tip()


def test_the_devchain_carries_a_marker(devchain, adapter):
    assert is_devchain(adapter.call("getnetworkinfo"), adapter.call("getblockchaininfo"))


def test_amounts_are_exact_satoshis():
    assert adapter_module.to_sats(Decimal("0.70000000")) == 70_000_000
    assert adapter_module.to_sats(Decimal("49.9998")) == 4_999_980_000
    with pytest.raises(ChainError):
        adapter_module.to_sats(Decimal("0.000000001"))
