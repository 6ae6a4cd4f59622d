"""Where the development chain differed from Bitcoin Core v30, found by running the same calls
on both (chain_node: the devchain, then a real bitcoind) and fixed in the devchain, Core
being right. Each assertion holds on both backends; the recorded transcripts
(test_contract.py) cover what they recorded, these the rest of what Qazyna relies on."""

from decimal import Decimal

import pytest
from embit.descriptor.checksum import add_checksum

from devchain.testing import RPCFailure

WATCH = "watch"


def _error(node, method, *params, wallet=None):
    with pytest.raises(RPCFailure) as exc:
        node.rpc(method, *params, wallet=wallet)
    return exc.value.code, exc.value.message


def _watch_wallet(node):
    node.rpc("createwallet", WATCH, True, True, None, False, True, True)
    return WATCH


def test_scantxoutset_actions_when_idle_and_without_objects(chain_node):
    assert chain_node.rpc("scantxoutset", "status") is None
    assert chain_node.rpc("scantxoutset", "abort") is False
    assert _error(chain_node, "scantxoutset", "start") == (
        -1, "scanobjects argument is required for the start action")  # the devchain said -8
    assert _error(chain_node, "scantxoutset", "bogus", []) == (-8, "Invalid action 'bogus'")


def test_importdescriptors_needs_a_timestamp_and_a_checksum(chain_node):
    wallet = _watch_wallet(chain_node)
    address = chain_node.new_address()
    desc = add_checksum(f"addr({address})")
    # a missing timestamp fails the whole call; the devchain imported without one
    assert _error(chain_node, "importdescriptors",
                  [{"desc": desc, "timestamp": "now"}, {"desc": desc}], wallet=wallet) == (
        -3, "Missing required timestamp field for key")
    bad = desc[:-1] + ("x" if desc[-1] != "x" else "y")
    results = chain_node.rpc("importdescriptors", [
        {"desc": f"addr({address})", "timestamp": "now"},
        {"desc": bad, "timestamp": "now"},
        {"desc": desc, "timestamp": 0},
    ], wallet=wallet)
    assert results[0] == {"success": False, "error": {"code": -5, "message": "Missing checksum"}}
    assert results[1]["success"] is False and results[1]["error"]["code"] == -5
    assert results[1]["error"]["message"].startswith("Provided checksum ")
    assert results[2] == {"success": True}


def test_getaddressinfo_in_a_watch_only_wallet(chain_node):
    wallet = _watch_wallet(chain_node)
    imported, other = chain_node.new_address(), chain_node.new_address()
    chain_node.rpc("importdescriptors", [{"desc": add_checksum(f"addr({imported})"),
                                          "timestamp": "now"}], wallet=wallet)
    info = chain_node.rpc("getaddressinfo", imported, wallet=wallet)
    assert sorted(info) == ["address", "ischange", "ismine", "isscript", "iswatchonly",
                            "iswitness", "labels", "parent_desc", "scriptPubKey", "solvable",
                            "witness_program", "witness_version"]
    # an address imported without a label gets an address book entry "": not change
    assert (info["ismine"], info["solvable"], info["ischange"], info["labels"]) == (
        True, False, False, [""])
    info = chain_node.rpc("getaddressinfo", other, wallet=wallet)
    assert (info["ismine"], info["ischange"], info["labels"]) == (False, False, [])
    own = chain_node.rpc("getaddressinfo", other, wallet="miner")
    assert sorted(own) == ["address", "desc", "hdkeypath", "hdmasterfingerprint", "hdseedid",
                           "ischange", "ismine", "isscript", "iswatchonly", "iswitness",
                           "labels", "parent_desc", "pubkey", "scriptPubKey", "solvable",
                           "timestamp", "witness_program", "witness_version"]
    assert own["hdkeypath"].startswith("m/84h/1h/0h/0/") and own["labels"] == [""]


def test_listunspent_refuses_a_duplicated_address(chain_node):
    wallet = _watch_wallet(chain_node)
    address = chain_node.new_address()
    assert _error(chain_node, "listunspent", 0, 9_999_999, [address, address],
                  wallet=wallet) == (-8, f"Invalid parameter, duplicated address: {address}")


def test_generateblock_pays_the_subsidy_without_the_fees(chain_node):
    txid = chain_node.fund(chain_node.new_address(), 1_000_000)
    assert chain_node.rpc("getmempoolentry", txid)["fees"]["base"] > 0
    block_hash = chain_node.rpc("generateblock", chain_node.new_address(), [txid])["hash"]
    coinbase = chain_node.rpc("getblock", block_hash, 2)["tx"][0]
    assert sum(out["value"] for out in coinbase["vout"]) == Decimal("50")


def test_getrawtransaction_has_fee_and_prevouts_only_once_mined(chain_node):
    txid = chain_node.fund(chain_node.new_address(), 1_000_000)
    pending = chain_node.rpc("getrawtransaction", txid, 2)
    assert "fee" not in pending and "prevout" not in pending["vin"][0]  # no undo data yet
    chain_node.mine(1)
    mined = chain_node.rpc("getrawtransaction", txid, 2)
    assert mined["fee"] > 0 and mined["vin"][0]["prevout"]["height"] > 0


def test_a_coinbase_conflicts_with_nothing(chain_node):
    [block] = chain_node.mine(1)
    coinbase = chain_node.rpc("getblock", block, 1)["tx"][0]
    assert chain_node.rpc("gettransaction", coinbase, wallet="miner")["walletconflicts"] == []


def test_unload_and_load_a_wallet(chain_node):
    wallet = _watch_wallet(chain_node)
    assert chain_node.rpc("unloadwallet", wallet) == {}
    assert _error(chain_node, "getwalletinfo", wallet=wallet) == (
        -18, "Requested wallet does not exist or is not loaded")
    assert chain_node.rpc("loadwallet", wallet) == {"name": wallet}
    assert _error(chain_node, "loadwallet", wallet) == (-35, f'Wallet "{wallet}" is already '
                                                             'loaded.')
    code, message = _error(chain_node, "createwallet", wallet, True, True)
    assert code == -4 and message.endswith("Database already exists.")
    code, message = _error(chain_node, "loadwallet", "nope")
    assert code == -18 and message.endswith("Path does not exist.")


def test_listsinceblock_the_tip_lists_what_spends_a_wallet_coin_in_the_mempool(chain_node):
    wallet = _watch_wallet(chain_node)
    address = chain_node.new_address()
    chain_node.rpc("importdescriptors", [{"desc": add_checksum(f"addr({address})"),
                                          "timestamp": "now"}], wallet=wallet)
    funding = chain_node.fund(address, 3_000_000)
    tip = chain_node.mine(1)[0]
    assert chain_node.rpc("listsinceblock", tip, 1, True, False, True,
                          wallet=wallet) == {"transactions": [], "lastblock": tip}
    [vout] = [o["n"] for o in chain_node.rpc("getrawtransaction", funding, 1)["vout"]
              if o["scriptPubKey"].get("address") == address]
    unsigned = chain_node.rpc("createrawtransaction", [{"txid": funding, "vout": vout}],
                              [{chain_node.new_address(): Decimal("0.0299")}])
    spend = chain_node.rpc("sendrawtransaction", chain_node.rpc(
        "signrawtransactionwithwallet", unsigned, wallet="miner")["hex"])
    since = chain_node.rpc("listsinceblock", tip, 1, True, False, True, wallet=wallet)
    assert since["lastblock"] == tip
    [entry] = since["transactions"]
    assert (entry["txid"], entry["category"], entry["confirmations"], entry["amount"],
            entry["fee"], entry["trusted"]) == (spend, "send", 0, Decimal("-0.0299"),
                                                Decimal("-0.0001"), True)


def test_gettxspendingprevout_names_mempool_spenders_only(chain_node):
    """Core v30 looks in the mempool only: the spender of a coin spent in a block is not
    named (no spender index before v31), nor is anything for an unknown outpoint."""
    from tests.support.sweeps import coin_of_wallet, spend_coin

    coin = coin_of_wallet(chain_node, 2_000_000)
    spender = spend_coin(chain_node, coin, chain_node.new_address(), 10_000)
    unknown = {"txid": "00" * 32, "vout": 5}
    assert chain_node.rpc("gettxspendingprevout", [
        {"txid": coin[0], "vout": coin[1]}, {"txid": spender, "vout": 0}, unknown]) == [
        {"txid": coin[0], "vout": coin[1], "spendingtxid": spender},
        {"txid": spender, "vout": 0}, unknown]
    chain_node.mine(1)  # mined: no longer in the mempool, so no longer named
    assert chain_node.rpc("gettxspendingprevout", [{"txid": coin[0], "vout": coin[1]}]) == [
        {"txid": coin[0], "vout": coin[1]}]
    zero = "00" * 32
    for outputs, expected in [
        ([], (-8, "Invalid parameter, outputs are missing")),
        ({"txid": zero, "vout": 0}, None),  # not an array: Core's "Wrong type passed"
        ([5], (-3, "JSON value of type number is not of expected type object")),
        ([{"vout": 1}], (-3, "Missing txid")),
        ([{"txid": zero}], (-3, "Missing vout")),
        ([{"txid": zero, "vout": "1"}],
         (-3, "JSON value of type string for field vout is not of expected type number")),
        ([{"txid": zero, "vout": 1, "x": 2}], (-3, "Unexpected key x")),
        ([{"txid": "zz", "vout": 0}], (-8, "txid must be of length 64 (not 2, for 'zz')")),
        ([{"txid": zero, "vout": -1}], (-8, "Invalid parameter, vout cannot be negative")),
    ]:
        code, message = _error(chain_node, "gettxspendingprevout", outputs)
        if expected is None:
            assert code == -3 and message.startswith("Wrong type passed:")
        else:
            assert (code, message) == expected
    code, message = _error(chain_node, "gettxspendingprevout")
    assert code == -1 and message.startswith("gettxspendingprevout [{\"txid\":\"hex\"")
