"""Unit-level tests of the devchain's chain rules over real HTTP."""

from decimal import Decimal

import pytest
from embit import ec
from embit.script import Script, Witness, p2wpkh
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from devchain.network import address_from_script
from devchain.testing import DevChainServer, RPCFailure
from devchain.tx import parse_tx, serialize


@pytest.fixture()
def chain():
    with DevChainServer() as server:
        server.mine(101)
        yield server


def _key_and_address():
    key = ec.PrivateKey(bytes(31) + b"\x07")
    return key, address_from_script(p2wpkh(key.get_public_key()).data)


def _spend(chain, txid, amount_in, pay_sats, sequence=0xFFFFFFFD, corrupt=False):
    key, address = _key_and_address()
    raw = parse_tx(chain.rpc("getrawtransaction", txid))
    vout = next(n for n, o in enumerate(raw.vout) if address_from_script(o.script_pubkey.data)
                == address)
    dest = p2wpkh(ec.PrivateKey(bytes(31) + b"\x09").get_public_key())
    tx = Transaction(version=2, vin=[TransactionInput(bytes.fromhex(txid), vout,
                                                       sequence=sequence)],
                     vout=[TransactionOutput(pay_sats, dest)])
    code = Script(b"\x76\xa9\x14" + p2wpkh(key.get_public_key()).data[2:] + b"\x88\xac")
    sig = bytearray(key.sign(tx.sighash_segwit(0, code, amount_in)).serialize())
    if corrupt:
        sig[10] ^= 1
    tx.vin[0].witness = Witness([bytes(sig) + b"\x01", key.get_public_key().sec()])
    return serialize(tx).hex()


def _funded(chain, sats=100_000_000):
    _, address = _key_and_address()
    txid = chain.fund(address, sats)
    chain.mine(1)
    return txid


def test_bad_signature_rejected(chain):
    txid = _funded(chain)
    with pytest.raises(RPCFailure) as err:
        chain.rpc("sendrawtransaction", _spend(chain, txid, 100_000_000, 99_990_000,
                                               corrupt=True))
    assert err.value.code == -26
    assert err.value.message.startswith("mempool-script-verify-flag-failed (Signature must be "
                                        "zero for failed CHECK(MULTI)SIG operation)")


def test_negative_fee_and_double_spend(chain):
    txid = _funded(chain)
    result = chain.rpc("testmempoolaccept", [_spend(chain, txid, 100_000_000, 100_000_001)])
    assert result[0]["reject-reason"] == "bad-txns-in-belowout"
    first = chain.rpc("sendrawtransaction", _spend(chain, txid, 100_000_000, 99_990_000))
    with pytest.raises(RPCFailure) as err:
        chain.rpc("sendrawtransaction", _spend(chain, txid, 100_000_000, 99_989_999))
    assert "rejecting replacement" in err.value.message
    assert chain.rpc("getrawmempool") == [first]


def test_rbf_replacement_evicts_original(chain):
    txid = _funded(chain)
    original = chain.rpc("sendrawtransaction", _spend(chain, txid, 100_000_000, 99_998_000))
    replacement = chain.rpc("sendrawtransaction", _spend(chain, txid, 100_000_000, 99_988_000))
    assert chain.rpc("getrawmempool") == [replacement]
    with pytest.raises(RPCFailure) as err:
        chain.rpc("getmempoolentry", original)
    assert err.value.code == -5


def test_invalidate_and_reconsider(chain):
    _, address = _key_and_address()
    txid = chain.fund(address, 50_000_000)
    block = chain.mine(1)[0]
    chain.rpc("invalidateblock", block)
    assert chain.rpc("getrawmempool") == [txid]
    tips = chain.rpc("getchaintips")
    assert {"hash": block, "status": "invalid"}.items() <= tips[0].items()
    chain.rpc("reconsiderblock", block)
    assert chain.rpc("getbestblockhash") == block
    assert chain.rpc("getrawmempool") == []


def test_reorg_returns_confirmed_tx_and_remines_it(chain):
    # NOTE: the double-spend reorg (reorg.json part B) is only covered by the contract replay.
    txid = _funded(chain)
    chain.rpc("generatetoaddress", 1, chain.new_address())
    height = chain.rpc("getblockcount")
    loser_block = chain.rpc("getblockhash", height - 1)
    chain.rpc("invalidateblock", loser_block)
    spend = _spend(chain, txid, 100_000_000, 99_990_000)
    assert chain.rpc("getrawmempool") == [txid]
    funding = chain.rpc("gettransaction", txid, wallet="miner")
    assert funding["confirmations"] == 0
    assert spend  # a spend of the returned tx is valid in the mempool again
    chain.rpc("sendrawtransaction", spend)
    chain.mine(3)
    assert chain.rpc("getrawtransaction", txid, True)["confirmations"] == 3


def test_coinbase_maturity(chain):
    best = chain.rpc("getblock", chain.rpc("getbestblockhash"), 2)
    coinbase = best["tx"][0]
    assert coinbase["vout"][0]["value"] == 50
    assert chain.rpc("gettxout", coinbase["txid"], 0)["coinbase"] is True


def test_bitcoinlib_client(chain):
    from bitcoinlib.services.bitcoind import BitcoindClient

    client = BitcoindClient(base_url=chain.url, network="testnet")
    assert client.blockcount() == chain.rpc("getblockcount")


def test_reorg_double_spend_loser_disappears(chain):
    """reorg.json part B: the new branch mines a conflicting W; the confirmed L is gone."""
    _, address = _key_and_address()
    loser = chain.fund(address, 40_000_000)
    h2, top = chain.mine(2)
    chain.rpc("invalidateblock", h2)
    assert chain.rpc("getrawmempool") == [loser]
    spent = chain.rpc("getrawtransaction", loser, True)["vin"][0]
    prevout = chain.rpc("getrawtransaction", spent["txid"], True)["vout"][spent["vout"]]
    miner_address = chain.new_address()
    unsigned = chain.rpc("createrawtransaction", [{"txid": spent["txid"], "vout": spent["vout"]}],
                         [{miner_address: prevout["value"] - Decimal("0.0002")}])
    signed = chain.rpc("signrawtransactionwithwallet", unsigned, wallet="miner")
    assert signed["complete"] is True
    winner = chain.rpc("decoderawtransaction", signed["hex"])["txid"]
    chain.rpc("generateblock", miner_address, [signed["hex"]])
    chain.mine(2)  # the new branch (3 blocks) beats the old one (2)

    # the txindex still points at the stale block: no time/blocktime, confirmations 0
    stale = chain.rpc("getrawtransaction", loser, True)
    assert stale["blockhash"] == h2
    assert stale["confirmations"] == 0
    assert "time" not in stale and "blocktime" not in stale
    assert chain.rpc("getrawtransaction", loser, True, h2)["in_active_chain"] is False
    # but its outputs and its mempool entry are gone
    assert chain.rpc("gettxout", loser, 0) is None
    assert chain.rpc("gettxout", loser, 1) is None
    with pytest.raises(RPCFailure) as err:
        chain.rpc("getmempoolentry", loser)
    assert (err.value.code, err.value.message, err.value.status) == (
        -5, "Transaction not in mempool", 500)
    assert chain.rpc("getrawmempool") == []
    assert chain.rpc("getrawtransaction", winner, True)["confirmations"] == 3
    # the sending wallet sees L conflicted at minus the depth of W
    wallet_view = chain.rpc("gettransaction", loser, wallet="miner")
    assert wallet_view["confirmations"] == -3
    assert wallet_view["trusted"] is False
    assert wallet_view["walletconflicts"] == [winner]
    tips = chain.rpc("getchaintips")
    assert tips[0]["status"] == "active"
    assert {"hash": top, "branchlen": 2, "status": "invalid"}.items() <= tips[1].items()
    chain.rpc("reconsiderblock", h2)
    assert chain.rpc("getchaintips")[1]["status"] == "valid-fork"
    assert chain.rpc("gettxout", loser, 0) is None


def test_immature_coinbase_spend_refused(chain):
    tip = chain.rpc("getblock", chain.rpc("getbestblockhash"), 2)
    coinbase = tip["tx"][0]
    unsigned = chain.rpc("createrawtransaction", [{"txid": coinbase["txid"], "vout": 0}],
                         [{chain.new_address(): Decimal("49.999")}])
    signed = chain.rpc("signrawtransactionwithwallet", unsigned, wallet="miner")
    assert signed["complete"] is True
    detail = "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 1"
    result = chain.rpc("testmempoolaccept", [signed["hex"]])[0]
    assert result["allowed"] is False
    assert result["reject-reason"] == "bad-txns-premature-spend-of-coinbase"
    assert result["reject-details"] == detail
    with pytest.raises(RPCFailure) as err:
        chain.rpc("sendrawtransaction", signed["hex"])
    assert (err.value.code, err.value.message, err.value.status) == (-26, detail, 500)
    # 99 more blocks: at depth 100 the same tx is accepted
    chain.mine(99)
    spend_txid = chain.rpc("decoderawtransaction", signed["hex"])["txid"]
    assert chain.rpc("sendrawtransaction", signed["hex"]) == spend_txid


def test_bitcoinlib_gettransaction_and_sendrawtransaction(chain):
    from bitcoinlib.services.bitcoind import BitcoindClient

    client = BitcoindClient(base_url=chain.url, network="regtest")
    txid = _funded(chain)
    parsed = client.gettransaction(txid)
    assert parsed.txid == txid
    assert parsed.confirmations == 1
    _, address = _key_and_address()
    assert any(o.address == address and o.value == 100_000_000 for o in parsed.outputs)
    raw = _spend(chain, txid, 100_000_000, 99_990_000)
    sent = client.sendrawtransaction(raw)
    assert sent["txid"] == parse_tx(raw).txid().hex()
    assert chain.rpc("getrawmempool") == [sent["txid"]]
    pending = client.gettransaction(sent["txid"])
    assert pending.status == "unconfirmed"  # Core gives no confirmations for a mempool tx


def test_bad_password_is_401_with_empty_body(chain):
    body = b'{"version": "1.1", "method": "getblockcount", "params": [], "id": 1}'
    status, headers, raw = chain.post(body, auth=f"{chain.rpcuser}:wrong")
    assert status == 401
    assert raw == b""
    assert headers["WWW-Authenticate"] == 'Basic realm="jsonrpc"'
    assert headers["Content-Type"] == "text/html; charset=ISO-8859-1"


def test_datadir_is_refused(capsys):
    from devchain.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--rpcuser", "u", "--rpcpassword", "p", "--datadir", "/nonexistent/devchain"])
    assert exit_info.value.code == 2
    assert "--datadir is not supported" in capsys.readouterr().err
