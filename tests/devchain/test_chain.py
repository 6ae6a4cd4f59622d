"""Unit-level tests of the devchain's chain rules over real HTTP."""

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
