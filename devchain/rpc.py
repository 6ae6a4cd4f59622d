"""RPC method handlers with Core's parameter checking, result shapes and error codes."""

import threading
from decimal import Decimal

from embit.descriptor import Descriptor
from embit.descriptor.checksum import add_checksum, checksum
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from .chain import (
    DEFAULT_MAX_FEERATE,
    INCREMENTAL_RELAY_FEERATE,
    MEMPOOL_HEIGHT,
    MIN_RELAY_FEERATE,
    REGTEST_TARGET,
    Chain,
    Reject,
)
from .encoding import Amount, RawNumber, btc_to_sats
from .helptext import HELP
from .network import address_from_script, script_from_address
from .script import parse_multisig
from .tx import DecodeError, is_coinbase, parse_tx, serialize, tx_to_json, txid, wtxid
from .wallet import Wallet, WalletError, derived_descriptor

DIFFICULTY = RawNumber("4.656542373906925e-10")
TARGET_HEX = f"{REGTEST_TARGET:064x}"
TYPE_NAMES = {bool: "bool", int: "number", float: "number", Decimal: "number", str: "string",
              list: "array", dict: "object", type(None): "null"}


class RPCError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _json_type(value):
    return TYPE_NAMES.get(type(value), "unknown")


# Parameter specs: (name, expected JSON type or None for "any", required)
SPECS: dict[str, list] = {}
HANDLERS: dict[str, object] = {}
WALLET_METHODS: set[str] = set()
# Handlers that take Chain.lock themselves, for as long as they need it (Core serves other
# RPCs while a scantxoutset runs).
SELF_LOCKING: set[str] = set()


def rpc(name, *params, wallet=False, locks_itself=False):
    def register(fn):
        SPECS[name] = list(params)
        HANDLERS[name] = fn
        if wallet:
            WALLET_METHODS.add(name)
        if locks_itself:
            SELF_LOCKING.add(name)
        return fn
    return register


def _help(method):
    return HELP.get(method, f"{method}\n\n(devchain: wrong number of parameters)")


def normalize_params(method, params):
    spec = SPECS[method]
    if isinstance(params, dict):
        names = [p[0] for p in spec]
        positional = [None] * len(spec)
        present = [False] * len(spec)
        for key, value in params.items():
            if key not in names:
                raise RPCError(-8, f"Unknown named parameter {key}")
            positional[names.index(key)] = value
            present[names.index(key)] = True
        last = max([i for i, p in enumerate(present) if p], default=-1)
        params = positional[: last + 1]
    if len(params) > len(spec):
        raise RPCError(-1, _help(method))
    required = sum(1 for p in spec if p[2])
    if len(params) < required or any(v is None for v in params[:required]):
        raise RPCError(-1, _help(method))
    errors = []
    for i, value in enumerate(params):
        name, expected, _ = spec[i]
        if expected is None or value is None:
            continue
        actual = _json_type(value)
        if actual != expected:
            errors.append(f'    "Position {i + 1} ({name})": "JSON value of type {actual} is not '
                          f'of expected type {expected}"')
    if errors:
        raise RPCError(-3, "Wrong type passed:\n{\n" + ",\n".join(errors) + "\n}")
    return list(params) + [None] * (len(spec) - len(params))


def parse_hash(value, name):
    if not isinstance(value, str):
        raise RPCError(-3, f"JSON value of type {_json_type(value)} is not of expected type string")
    if len(value) != 64:
        raise RPCError(-8, f"{name} must be of length 64 (not {len(value)}, for '{value}')")
    try:
        bytes.fromhex(value)
    except ValueError:
        raise RPCError(-8, f"{name} must be hexadecimal string (not '{value}')") from None
    return value.lower()


def parse_verbosity(value, default, allow_bool=True):
    if value is None:
        return default
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return value
    raise RPCError(-3, f"JSON value of type {_json_type(value)} is not of expected type number")


def decode_tx(hexstring):
    try:
        return parse_tx(hexstring)
    except DecodeError:
        raise RPCError(-22, "TX decode failed. Make sure the tx has at least one input.") from None


class Node:
    """The RPC-facing node: one chain plus loaded wallets."""

    def __init__(self):
        self.chain = Chain()
        self.wallets: dict[str, Wallet] = {}
        self.unloaded_wallets: dict[str, Wallet] = {}  # on "disk", after unloadwallet
        self.scan = UtxoScan()

    # --- dispatch -------------------------------------------------------------------------

    def call(self, method, params, wallet_name=None):
        if method not in HANDLERS:
            raise RPCError(-32601, "Method not found")
        params = normalize_params(method, params if params is not None else [])
        if method in SELF_LOCKING:
            return HANDLERS[method](self, *params)
        with self.chain.lock:
            if method in WALLET_METHODS:
                return HANDLERS[method](self, self._wallet(wallet_name), *params)
            return HANDLERS[method](self, *params)

    def _wallet(self, name):
        if name is not None:
            wallet = self.wallets.get(name)
            if wallet is None:
                raise RPCError(-18, "Requested wallet does not exist or is not loaded")
            return wallet
        if len(self.wallets) == 1:
            return next(iter(self.wallets.values()))
        if not self.wallets:
            raise RPCError(-18, "No wallet is loaded. Load a wallet using loadwallet or create "
                                "a new one with createwallet. (Note: A default wallet is no "
                                "longer automatically created)")
        raise RPCError(-19, "Multiple wallets are loaded. Please select which wallet to use by "
                            "requesting the RPC through the /wallet/<walletname> URI path.")

    def block(self, block_hash):
        block = self.chain.blocks.get(block_hash)
        if block is None:
            raise RPCError(-5, "Block not found")
        return block

    def header_json(self, block):
        chain = self.chain
        result = {
            "hash": block.hash,
            "confirmations": chain.confirmations(block.hash),
            "height": block.height,
            "version": block.version,
            "versionHex": f"{block.version:08x}",
            "merkleroot": block.merkle,
            "time": block.time,
            "mediantime": chain.median_time_past(block),
            "nonce": block.nonce,
            "bits": f"{block.bits:08x}",
            "target": TARGET_HEX,
            "difficulty": DIFFICULTY,
            "chainwork": f"{block.chainwork:064x}",
            "nTx": len(block.txs),
        }
        if block.prev:
            result["previousblockhash"] = block.prev
        if chain.in_active_chain(block.hash) and block.height < chain.height:
            result["nextblockhash"] = chain.active[block.height + 1]
        return result

    def tx_fee_and_prevouts(self, tx):
        if is_coinbase(tx):
            return None, None
        coins = [self.chain.prevout_coin((i.txid.hex(), i.vout)) for i in tx.vin]
        if any(c is None for c in coins):
            return None, coins
        return sum(c.value for c in coins) - sum(o.value for o in tx.vout), coins

    def add_wallet(self, wallet):
        self.wallets[wallet.name] = wallet
        self.chain.listeners.append(wallet.on_chain_event)
        wallet.rescan()


# --- blockchain ---------------------------------------------------------------------------


@rpc("getblockcount")
def getblockcount(node):
    return node.chain.height


@rpc("getbestblockhash")
def getbestblockhash(node):
    return node.chain.tip.hash


@rpc("getblockhash", ("height", "number", True))
def getblockhash(node, height):
    if not isinstance(height, int) or height < 0 or height > node.chain.height:
        raise RPCError(-8, "Block height out of range")
    return node.chain.active[height]


@rpc("getblockheader", ("blockhash", "string", True), ("verbose", "bool", False))
def getblockheader(node, blockhash, verbose):
    block = node.block(parse_hash(blockhash, "blockhash"))
    if verbose is False:
        return block.header_hex
    return node.header_json(block)


@rpc("getblock", ("blockhash", "string", True), ("verbosity", None, False))
def getblock(node, blockhash, verbosity):
    block = node.block(parse_hash(blockhash, "blockhash"))
    verbosity = parse_verbosity(verbosity, 1)
    if verbosity <= 0:
        return block.raw_hex
    result = node.header_json(block)
    raw_len = len(block.raw_hex) // 2
    stripped = 80 + 1 + sum(len(serialize(t, witness=False)) for t in block.txs)
    result["strippedsize"] = stripped
    result["size"] = raw_len
    result["weight"] = stripped * 3 + raw_len
    if verbosity == 1:
        result["tx"] = [txid(t) for t in block.txs]
    else:
        txs = []
        for tx in block.txs:
            fee, coins = node.tx_fee_and_prevouts(tx)
            txs.append(tx_to_json(tx, prevouts=coins if verbosity >= 3 else None, fee=fee))
        result["tx"] = txs
    return result


@rpc("getblockchaininfo")
def getblockchaininfo(node):
    chain = node.chain
    tip = chain.tip
    return {
        "chain": "regtest",
        "blocks": chain.height,
        "headers": max(b.height for b in chain.blocks.values() if not b.failed),
        "bestblockhash": tip.hash,
        "bits": f"{tip.bits:08x}",
        "target": TARGET_HEX,
        "difficulty": DIFFICULTY,
        "time": tip.time,
        "mediantime": chain.median_time_past(tip),
        "verificationprogress": 1,
        "initialblockdownload": False,
        "chainwork": f"{tip.chainwork:064x}",
        "size_on_disk": sum(len(b.raw_hex) // 2 for b in chain.blocks.values()),
        "pruned": False,
        "warnings": [],
    }


@rpc("getchaintips")
def getchaintips(node):
    return node.chain.chain_tips()


@rpc("invalidateblock", ("blockhash", "string", True))
def invalidateblock(node, blockhash):
    node.block(parse_hash(blockhash, "blockhash"))
    try:
        node.chain.invalidate_block(blockhash)
    except Reject as exc:
        raise RPCError(-8, str(exc)) from None
    return None


@rpc("reconsiderblock", ("blockhash", "string", True))
def reconsiderblock(node, blockhash):
    node.block(parse_hash(blockhash, "blockhash"))
    node.chain.reconsider_block(blockhash)
    return None


@rpc("getindexinfo", ("index_name", "string", False))
def getindexinfo(node, index_name):
    info = {"txindex": {"synced": True, "best_block_height": node.chain.height}}
    if index_name is not None and index_name not in info:
        return {}
    return info


@rpc("uptime")
def uptime(node):
    return max(0, node.chain.now() - node.chain.start_time)


@rpc("getnetworkinfo")
def getnetworkinfo(node):
    network = {"limited": False, "reachable": True, "proxy": "",
               "proxy_randomize_credentials": False}
    return {
        "version": 300000,
        # The user agent names the development chain, so production settings can refuse it.
        "subversion": "/Satoshi:30.0.0/qazyna-devchain:1.0/",
        "protocolversion": 70016,
        "localservices": "0000000000000c09",
        "localservicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED", "P2P_V2"],
        "localrelay": True,
        "timeoffset": 0,
        "networkactive": True,
        "connections": 0,
        "connections_in": 0,
        "connections_out": 0,
        "networks": [{"name": "ipv4", **network}, {"name": "ipv6", **network}] + [
            {"name": name, **network, "limited": True, "reachable": False}
            for name in ("onion", "i2p", "cjdns")],
        "relayfee": Amount(MIN_RELAY_FEERATE),
        "incrementalfee": Amount(INCREMENTAL_RELAY_FEERATE),
        "localaddresses": [],
        "warnings": [],
    }


@rpc("getmininginfo")
def getmininginfo(node):
    chain = node.chain
    return {
        "blocks": chain.height,
        "currentblockweight": 8000,
        "currentblocktx": 0,
        "bits": "207fffff",
        "difficulty": DIFFICULTY,
        "target": TARGET_HEX,
        "networkhashps": RawNumber("4.332216503963858e-07"),
        "pooledtx": len(chain.mempool),
        "blockmintxfee": Amount(1),
        "chain": "regtest",
        "next": {"height": chain.height + 1, "bits": "207fffff", "difficulty": DIFFICULTY,
                 "target": TARGET_HEX},
        "warnings": [],
    }


@rpc("estimatesmartfee", ("conf_target", "number", True), ("estimate_mode", "string", False))
def estimatesmartfee(node, conf_target, estimate_mode):
    if estimate_mode is not None and estimate_mode.upper() not in (
            "UNSET", "ECONOMICAL", "CONSERVATIVE"):
        raise RPCError(-8, "Invalid estimate_mode parameter, must be one of: "
                           "\"unset\", \"economical\", \"conservative\"")
    return {"errors": ["Insufficient data or no feerate found"], "blocks": 3}


# --- mining -------------------------------------------------------------------------------


def _address_script(address, message="Error: Invalid address"):
    script = script_from_address(address)
    if script is None:
        raise RPCError(-5, message)
    return script


@rpc("generatetoaddress", ("nblocks", "number", True), ("address", "string", True),
     ("maxtries", "number", False))
def generatetoaddress(node, nblocks, address, maxtries):
    script = _address_script(address)
    return [node.chain.mine_block(script) for _ in range(nblocks)]


@rpc("generateblock", ("output", "string", True), ("transactions", "array", True),
     ("submit", "bool", False))
def generateblock(node, output, transactions, submit):
    script = script_from_address(output)
    if script is None:
        try:
            script = Descriptor.from_string(output.split("#")[0]).script_pubkey().data
        except Exception:
            raise RPCError(-5, "Error: Invalid address or descriptor") from None
    txs = []
    for item in transactions:
        if isinstance(item, str) and len(item) == 64 and item in node.chain.mempool:
            txs.append(node.chain.mempool[item].tx)
        elif isinstance(item, str) and len(item) == 64 and all(
                c in "0123456789abcdef" for c in item.lower()):
            raise RPCError(-5, f"Transaction {item} not in mempool.")
        else:
            try:
                txs.append(parse_tx(item))
            except DecodeError:
                raise RPCError(-22, f"Transaction decode failed for {item}. Make sure the tx "
                                    "has at least one input.") from None
    try:
        block_hash = node.chain.mine_block(script, txs=txs, claim_fees=False)
    except Reject as exc:
        raise RPCError(-25, f"TestBlockValidity failed: {exc.reason}") from None
    return {"hash": block_hash}


# --- raw transactions ---------------------------------------------------------------------


def _tx_lookup(node, tx_id):
    """(tx, blockhash or None) for a mempool tx or a txindex tx; RPCError when unknown."""
    entry = node.chain.mempool.get(tx_id)
    if entry is not None:
        return entry.tx, None
    tx, block_hash = node.chain.find_tx_block(tx_id)
    if tx is None:
        raise RPCError(-5, "No such mempool or blockchain transaction. Use gettransaction for "
                           "wallet transactions.")
    return tx, block_hash


@rpc("getrawtransaction", ("txid", "string", True), ("verbosity", None, False),
     ("blockhash", "string", False))
def getrawtransaction(node, tx_id, verbosity, blockhash):
    tx_id = parse_hash(tx_id, "parameter 1")
    verbosity = parse_verbosity(verbosity, 0)
    chain = node.chain
    explicit = blockhash is not None
    if explicit:
        blockhash = parse_hash(blockhash, "parameter 3")
        block = chain.blocks.get(blockhash)
        if block is None:
            raise RPCError(-5, "Block hash not found")
        tx = next((t for t in block.txs if txid(t) == tx_id), None)
        if tx is None:
            raise RPCError(-5, "No such transaction found in the provided block. Use "
                               "gettransaction for wallet transactions.")
    else:
        tx, blockhash = _tx_lookup(node, tx_id)
    if verbosity <= 0:
        return serialize(tx).hex()
    fee, coins = (None, None)
    if verbosity >= 2 and blockhash is not None:
        # Core takes fee and prevouts from the block's undo data: a mempool tx has neither
        fee, coins = node.tx_fee_and_prevouts(tx)
    result = {"in_active_chain": chain.in_active_chain(blockhash)} if explicit else {}
    result.update(tx_to_json(tx, prevouts=coins, fee=fee))
    if blockhash is not None:
        result["blockhash"] = blockhash
        if chain.in_active_chain(blockhash):
            block = chain.blocks[blockhash]
            result["confirmations"] = chain.height - block.height + 1
            result["time"] = block.time
            result["blocktime"] = block.time
        else:
            result["confirmations"] = 0
    return result


@rpc("decoderawtransaction", ("hexstring", "string", True), ("iswitness", "bool", False))
def decoderawtransaction(node, hexstring, iswitness):
    result = tx_to_json(decode_tx(hexstring))
    del result["hex"]
    return result


@rpc("createrawtransaction", ("inputs", "array", True), ("outputs", None, True),
     ("locktime", "number", False), ("replaceable", "bool", False))
def createrawtransaction(node, inputs, outputs, locktime, replaceable):
    vin = []
    for item in inputs:
        tid = parse_hash(item.get("txid"), "txid")
        sequence = item.get("sequence", 0xFFFFFFFD if replaceable is not False else 0xFFFFFFFF)
        if locktime and replaceable is False and "sequence" not in item:
            sequence = 0xFFFFFFFE
        vin.append(TransactionInput(bytes.fromhex(tid), int(item["vout"]), sequence=sequence))
    if isinstance(outputs, dict):
        outputs = [{k: v} for k, v in outputs.items()]
    vout = []
    for item in outputs:
        for key, value in item.items():
            if key == "data":
                data = bytes.fromhex(value)
                vout.append(TransactionOutput(0, Script(b"\x6a" + bytes([len(data)]) + data)))
                continue
            script = script_from_address(key)
            if script is None:
                raise RPCError(-5, f"Invalid Bitcoin address: {key}")
            try:
                vout.append(TransactionOutput(btc_to_sats(value), Script(script)))
            except ValueError as exc:
                raise RPCError(-3, str(exc)) from None
    tx = Transaction(version=2, vin=vin, vout=vout, locktime=locktime or 0)
    return serialize(tx).hex()


def _max_feerate(value):
    if value is None:
        return DEFAULT_MAX_FEERATE
    try:
        return btc_to_sats(value)
    except ValueError as exc:
        raise RPCError(-3, str(exc)) from None


@rpc("sendrawtransaction", ("hexstring", "string", True), ("maxfeerate", None, False),
     ("maxburnamount", None, False))
def sendrawtransaction(node, hexstring, maxfeerate, maxburnamount):
    tx = decode_tx(hexstring)
    tid = txid(tx)
    chain = node.chain
    if tid in chain.mempool:
        return tid
    if any((tid, n) in chain.utxo for n in range(len(tx.vout))):
        raise RPCError(-27, "Transaction outputs already in utxo set")
    try:
        chain.accept(tx, max_feerate=_max_feerate(maxfeerate))
    except Reject as exc:
        raise RPCError(exc.code, exc.message) from None
    return tid


@rpc("testmempoolaccept", ("rawtxs", "array", True), ("maxfeerate", None, False))
def testmempoolaccept(node, rawtxs, maxfeerate):
    max_rate = _max_feerate(maxfeerate)
    results = []
    for raw in rawtxs:
        tx = decode_tx(raw)
        item = {"txid": txid(tx), "wtxid": wtxid(tx)}
        try:
            entry = node.chain.accept(tx, test_only=True, max_feerate=max_rate)
        except Reject as exc:
            item["allowed"] = False
            item["reject-reason"] = exc.reason
            if exc.details is not None:
                item["reject-details"] = exc.details
        else:
            item["allowed"] = True
            item["vsize"] = entry.vsize
            item["fees"] = {
                "base": Amount(entry.fee),
                "effective-feerate": Amount(entry.fee * 1000 // entry.vsize),
                "effective-includes": [entry.wtxid],
            }
        results.append(item)
    return results


def _mempool_entry_json(node, entry):
    chain = node.chain
    ancestors = chain.ancestors(entry.txid)
    descendants = chain.descendants(entry.txid)
    anc = [chain.mempool[a] for a in ancestors]
    desc = [chain.mempool[d] for d in descendants]
    return {
        "vsize": entry.vsize,
        "weight": entry.weight,
        "time": entry.time,
        "height": entry.height,
        "descendantcount": 1 + len(desc),
        "descendantsize": entry.vsize + sum(e.vsize for e in desc),
        "ancestorcount": 1 + len(anc),
        "ancestorsize": entry.vsize + sum(e.vsize for e in anc),
        "wtxid": entry.wtxid,
        "fees": {
            "base": Amount(entry.fee),
            "modified": Amount(entry.fee),
            "ancestor": Amount(entry.fee + sum(e.fee for e in anc)),
            "descendant": Amount(entry.fee + sum(e.fee for e in desc)),
        },
        "depends": sorted({i.txid.hex() for i in entry.tx.vin if i.txid.hex() in chain.mempool}),
        "spentby": sorted(descendants & {chain.spenders.get((entry.txid, n))
                                         for n in range(len(entry.tx.vout))}),
        "bip125-replaceable": chain.signals_rbf(entry.txid),
        "unbroadcast": entry.unbroadcast,
    }


@rpc("getmempoolentry", ("txid", "string", True))
def getmempoolentry(node, tx_id):
    tx_id = parse_hash(tx_id, "parameter 1")
    entry = node.chain.mempool.get(tx_id)
    if entry is None:
        raise RPCError(-5, "Transaction not in mempool")
    return _mempool_entry_json(node, entry)


@rpc("getrawmempool", ("verbose", "bool", False), ("mempool_sequence", "bool", False))
def getrawmempool(node, verbose, mempool_sequence):
    entries = sorted(node.chain.mempool.values(), key=lambda e: e.time)
    if verbose:
        return {e.txid: _mempool_entry_json(node, e) for e in entries}
    return [e.txid for e in entries]


@rpc("getmempoolinfo")
def getmempoolinfo(node):
    mempool = node.chain.mempool
    return {
        "loaded": True,
        "size": len(mempool),
        "bytes": sum(e.vsize for e in mempool.values()),
        "usage": 64 + 1000 * len(mempool),
        "total_fee": Amount(sum(e.fee for e in mempool.values())),
        "maxmempool": 300000000,
        "mempoolminfee": Amount(MIN_RELAY_FEERATE),
        "minrelaytxfee": Amount(MIN_RELAY_FEERATE),
        "incrementalrelayfee": Amount(INCREMENTAL_RELAY_FEERATE),
        "unbroadcastcount": sum(1 for e in mempool.values() if e.unbroadcast),
        "fullrbf": True,
        "permitbaremultisig": True,
        "maxdatacarriersize": 100000,
    }


@rpc("gettxout", ("txid", "string", True), ("n", "number", True),
     ("include_mempool", "bool", False))
def gettxout(node, tx_id, n, include_mempool):
    tx_id = parse_hash(tx_id, "txid")
    chain = node.chain
    coin = chain.get_coin((tx_id, n), include_mempool=include_mempool is not False)
    if coin is None:
        return None
    from .tx import script_pubkey_json

    return {
        "bestblock": chain.tip.hash,
        "confirmations": 0 if coin.height == MEMPOOL_HEIGHT else chain.height - coin.height + 1,
        "value": Amount(coin.value),
        "scriptPubKey": script_pubkey_json(coin.script),
        "coinbase": coin.coinbase,
    }


@rpc("gettxspendingprevout", ("outputs", "array", True))
def gettxspendingprevout(node, outputs):
    """Core v30: the mempool transaction spending each output, looked up in the mempool
    only (no spender index before v31): an output spent in a block, unspent, or that never
    existed has no spendingtxid. Checks and messages as Core's (RPCTypeCheckObj, strict)."""
    if not outputs:
        raise RPCError(-8, "Invalid parameter, outputs are missing")
    wanted = []
    for item in outputs:
        if not isinstance(item, dict):
            raise RPCError(-3, f"JSON value of type {_json_type(item)} is not of expected "
                               "type object")
        for key, expected in (("txid", "string"), ("vout", "number")):
            if item.get(key) is None:
                raise RPCError(-3, f"Missing {key}")
            if _json_type(item[key]) != expected:
                raise RPCError(-3, f"JSON value of type {_json_type(item[key])} for field "
                                   f"{key} is not of expected type {expected}")
        for key in item:
            if key not in ("txid", "vout"):
                raise RPCError(-3, f"Unexpected key {key}")
        tx_id = parse_hash(item["txid"], "txid")
        vout = item["vout"]
        if not isinstance(vout, int) or isinstance(vout, bool):
            raise RPCError(-1, "JSON integer out of range")
        if vout < 0:
            raise RPCError(-8, "Invalid parameter, vout cannot be negative")
        wanted.append((tx_id, vout))
    result = []
    for tx_id, vout in wanted:
        entry = {"txid": tx_id, "vout": vout}
        spender = node.chain.spenders.get((tx_id, vout))
        if spender is not None:
            entry["spendingtxid"] = spender
        result.append(entry)
    return result


# --- descriptors and addresses ------------------------------------------------------------


def _parse_descriptor(text):
    body, _, check = text.partition("#")
    if check and checksum(body) != check:
        raise RPCError(-5, f"Provided checksum '{check}' does not match computed checksum "
                           f"'{checksum(body)}'")
    if body.startswith("addr(") and body.endswith(")"):
        script = script_from_address(body[5:-1])
        if script is None:
            raise RPCError(-5, "Address is not valid")
        return body, None, script
    if body.startswith("raw(") and body.endswith(")"):
        return body, None, bytes.fromhex(body[4:-1])
    try:
        desc = Descriptor.from_string(body)
    except Exception as exc:
        raise RPCError(-5, f"Invalid descriptor: {exc}") from None
    return body, desc, None


def _canonical(body: str) -> str:
    return body.replace("'", "h")


@rpc("getdescriptorinfo", ("descriptor", "string", True))
def getdescriptorinfo(node, descriptor):
    body, desc, _ = _parse_descriptor(descriptor)
    canonical = _canonical(body)
    return {
        "descriptor": add_checksum(canonical),
        "checksum": checksum(body),
        "isrange": bool(desc is not None and desc.is_wildcard),
        "issolvable": desc is not None,
        "hasprivatekeys": bool(desc is not None and any(
            getattr(k, "is_private", False) for k in desc.keys)),
    }


def _derive_scripts(desc_text, range_spec):
    body, desc, script = _parse_descriptor(desc_text)
    if desc is None:
        return [(body, script)]
    if not desc.is_wildcard:
        return [(body, desc.script_pubkey().data)]
    if range_spec is None:
        raise RPCError(-8, "Range should be specified for a ranged descriptor")
    start, end = (0, range_spec) if isinstance(range_spec, int) else range_spec
    result = []
    for i in range(start, end + 1):
        child = desc.derive(i)
        result.append((derived_descriptor(body, i), child.script_pubkey().data))
    return result


@rpc("deriveaddresses", ("descriptor", "string", True), ("range", None, False))
def deriveaddresses(node, descriptor, range_spec):
    return [address_from_script(script) for _, script in _derive_scripts(descriptor, range_spec)]


@rpc("validateaddress", ("address", "string", True))
def validateaddress(node, address):
    script = script_from_address(address)
    if script is None:
        return {"isvalid": False, "error_locations": [], "error": "Invalid or unsupported "
                "Segwit (Bech32) or Base58 encoding."}
    result = {"isvalid": True, "address": address, "scriptPubKey": script.hex(),
              "isscript": script[0] == 0xA9 or (script[0] == 0 and len(script) == 34)}
    if script[0] == 0 or 0x51 <= script[0] <= 0x60:
        result["iswitness"] = True
        result["witness_version"] = 0 if script[0] == 0 else script[0] - 0x50
        result["witness_program"] = script[2:].hex()
    else:
        result["iswitness"] = False
    return result


class UtxoScan:
    """Core's scantxoutset reservation: one scan at a time per node, with its progress and
    abort flag. The scan itself runs without the chain lock (Core reads a snapshot of the
    UTXO set), so other RPCs, `status` and `abort` are answered meanwhile."""

    def __init__(self):
        self._reserved = threading.Lock()
        self.progress = 0
        self.abort = False

    @property
    def in_progress(self):
        return self._reserved.locked()

    def reserve(self) -> bool:
        if not self._reserved.acquire(blocking=False):
            return False
        self.progress = 0
        return True

    def release(self):
        self.progress = 0
        self._reserved.release()


@rpc("scantxoutset", ("action", "string", True), ("scanobjects", "array", False),
     locks_itself=True)
def scantxoutset(node, action, scanobjects):
    scan = node.scan
    if action == "status":
        return {"progress": scan.progress} if scan.in_progress else None
    if action == "abort":
        if not scan.in_progress:
            return False
        scan.abort = True
        return True
    if action != "start":
        raise RPCError(-8, f"Invalid action '{action}'")
    if not scan.reserve():
        raise RPCError(-8, 'Scan already in progress, use action "abort" or "status"')
    try:
        return _scan_utxo_set(node, scanobjects)
    finally:
        scan.release()


def _scan_utxo_set(node, scanobjects):
    if scanobjects is None:
        raise RPCError(-1, "scanobjects argument is required for the start action")
    wanted = {}  # expanding ranged descriptors is the slow part, as in Core
    for obj in scanobjects:
        if isinstance(obj, dict):
            pairs = _derive_scripts(obj["desc"], obj.get("range", 1000))
        else:
            pairs = _derive_scripts(obj, 1000)
        for desc, script in pairs:
            wanted[script] = desc
    node.scan.abort = False  # as in Core, an abort sent before the UTXO walk is lost
    chain = node.chain
    with chain.lock:
        coins = list(chain.utxo.items())
        height, best = chain.height, chain.tip.hash
        active = list(chain.active)
    unspents, success = [], True
    for count, ((tid, n), coin) in enumerate(coins, 1):
        if node.scan.abort:
            success = False
            break
        node.scan.progress = count * 100 // len(coins)
        desc = wanted.get(coin.script)
        if desc is None:
            continue
        if "#" not in desc:
            desc = add_checksum(desc)
        unspents.append({
            "txid": tid, "vout": n, "scriptPubKey": coin.script.hex(), "desc": desc,
            "amount": Amount(coin.value), "coinbase": coin.coinbase, "height": coin.height,
            "blockhash": active[coin.height], "confirmations": height - coin.height + 1,
        })
    return {
        "success": success,
        "txouts": len(coins),
        "height": height,
        "bestblock": best,
        "unspents": unspents,
        "total_amount": Amount(sum(u["amount"].sats for u in unspents)),
    }


# --- wallet -------------------------------------------------------------------------------


@rpc("createwallet", ("wallet_name", "string", True), ("disable_private_keys", "bool", False),
     ("blank", "bool", False), ("passphrase", "string", False), ("avoid_reuse", "bool", False),
     ("descriptors", "bool", False), ("load_on_startup", "bool", False),
     ("external_signer", "bool", False))
def createwallet(node, name, disable_private_keys, blank, *_):
    if name in node.wallets or name in node.unloaded_wallets:
        raise RPCError(-4, f"Wallet file verification failed. Failed to create database path "
                           f"'{name}'. Database already exists.")
    node.add_wallet(Wallet(node.chain, name, bool(disable_private_keys), bool(blank)))
    return {"name": name}


@rpc("loadwallet", ("filename", "string", True), ("load_on_startup", "bool", False))
def loadwallet(node, name, _load):
    if name in node.wallets:
        raise RPCError(-35, f"Wallet \"{name}\" is already loaded.")
    wallet = node.unloaded_wallets.pop(name, None)
    if wallet is None:
        raise RPCError(-18, f"Wallet file verification failed. Failed to load database path "
                            f"'{name}'. Path does not exist.")
    node.add_wallet(wallet)  # catches up with the blocks it missed, as Core does
    return {"name": name}


@rpc("unloadwallet", ("wallet_name", "string", False), ("load_on_startup", "bool", False))
def unloadwallet(node, name, _load):
    """Core's unloadwallet (the wallet stays on "disk": loadwallet brings it back)."""
    wallet = node.wallets.get(name)
    if wallet is None:
        raise RPCError(-18, "Requested wallet does not exist or is not loaded")
    del node.wallets[name]
    node.chain.listeners.remove(wallet.on_chain_event)
    node.unloaded_wallets[name] = wallet
    return {}


@rpc("listwallets")
def listwallets(node):
    return list(node.wallets)


def _wallet_call(fn):
    try:
        return fn()
    except WalletError as exc:
        raise RPCError(exc.code, exc.message) from None


@rpc("getnewaddress", ("label", "string", False), ("address_type", "string", False),
     wallet=True)
def getnewaddress(node, wallet, label, address_type):
    return address_from_script(_wallet_call(lambda: wallet.get_new_address(label or "")))


@rpc("sendtoaddress", ("address", "string", True), ("amount", None, True),
     ("comment", "string", False), ("comment_to", "string", False),
     ("subtractfeefromamount", "bool", False), ("replaceable", "bool", False),
     ("conf_target", "number", False), ("estimate_mode", "string", False),
     ("avoid_reuse", "bool", False), ("fee_rate", None, False), ("verbose", "bool", False),
     wallet=True)
def sendtoaddress(node, wallet, address, amount, _c1, _c2, subtract, *_rest):
    if not wallet.private_keys_enabled:
        raise RPCError(-4, "Error: Private keys are disabled for this wallet")
    script = script_from_address(address)
    if script is None:
        raise RPCError(-5, "Invalid address")
    try:
        sats = btc_to_sats(amount)
    except ValueError:
        raise RPCError(-3, "Invalid amount") from None
    if sats <= 0:
        raise RPCError(-3, "Invalid amount for send")
    tx = _wallet_call(lambda: wallet.send(script, sats, bool(subtract)))
    try:
        node.chain.accept(tx)
    except Reject as exc:
        raise RPCError(-4, exc.message) from None
    return txid(tx)


@rpc("getbalance", ("dummy", "string", False), ("minconf", "number", False),
     ("include_watchonly", "bool", False), ("avoid_reuse", "bool", False), wallet=True)
def getbalance(node, wallet, dummy, minconf, *_):
    return Amount(wallet.balance(min_conf=minconf or 0))


@rpc("getbalances", wallet=True)
def getbalances(node, wallet):
    trusted = wallet.balance(min_conf=0)
    pending = sum(u[1] for u in wallet.unspent(min_conf=0, include_untrusted=True)
                  if u[3] == 0 and not wallet.is_trusted(u[0][0]))
    return {"mine": {"trusted": Amount(trusted), "untrusted_pending": Amount(pending),
                     "immature": Amount(wallet.immature_balance())},
            "lastprocessedblock": {"hash": node.chain.tip.hash, "height": node.chain.height}}


@rpc("listunspent", ("minconf", "number", False), ("maxconf", "number", False),
     ("addresses", "array", False), ("include_unsafe", "bool", False),
     ("query_options", "object", False), wallet=True)
def listunspent(node, wallet, minconf, maxconf, addresses, include_unsafe, _opts):
    minconf = 1 if minconf is None else minconf
    maxconf = 9999999 if maxconf is None else maxconf
    wanted = None
    if addresses:
        wanted = set()
        for address in addresses:
            script = script_from_address(address)
            if script is None:
                raise RPCError(-5, f"Invalid Bitcoin address: {address}")
            if script in wanted:
                raise RPCError(-8, f"Invalid parameter, duplicated address: {address}")
            wanted.add(script)
    result = []
    for (tid, n), value, script, conf, _tx in wallet.unspent(
            min_conf=minconf, include_untrusted=include_unsafe is not False):
        if conf > maxconf or (wanted is not None and script not in wanted):
            continue
        info = wallet.scripts[script]
        item = {"txid": tid, "vout": n, "address": address_from_script(script)}
        if script in wallet.labels:
            item["label"] = wallet.labels[script]
        if info.get("witness_script") is not None:
            item["witnessScript"] = info["witness_script"].hex()
        item.update({
            "scriptPubKey": script.hex(), "amount": Amount(value), "confirmations": conf,
        })
        if conf == 0:
            entry = node.chain.mempool[tid]
            item.update({"ancestorcount": 1, "ancestorsize": entry.vsize,
                         "ancestorfees": entry.fee})
        solvable = info.get("desc") is not None
        item.update({"spendable": True, "solvable": solvable})
        if solvable:
            item["desc"] = info["desc"]
        item.update({"parent_descs": [info["parent"]], "safe": conf > 0 or wallet.is_trusted(tid)})
        result.append(item)
    return result


def _details(node, wallet, tx, fee, min_depth=0, include_change=False):
    """Core's ListTransactions entries (without the wallet tx's own fields): a "send" per
    output of a tx we paid for, a received entry per output to us at depth >= min_depth;
    change outputs only with include_change."""
    details = []
    from_me = wallet.from_me(tx)
    # Core lists received outputs only at depth >= min_depth (0 for gettransaction): a
    # conflicted receive has no details there, but listsinceblock's "removed" shows it
    conf = wallet.confirmations(txid(tx))
    abandoned = wallet.is_abandoned(txid(tx))
    for n, out in enumerate(tx.vout):
        script = out.script_pubkey.data
        mine = wallet.is_mine(script)
        change = mine and wallet.scripts[script]["change"] and not include_change
        address = address_from_script(script)
        if from_me and not change:
            item = {"address": address, "category": "send", "amount": Amount(-out.value)}
            if script in wallet.labels:
                item["label"] = wallet.labels[script]
            item.update({"vout": n, "fee": Amount(-fee), "abandoned": abandoned})
            details.append(item)
        if mine and not change and conf >= min_depth:
            item = {"address": address, "parent_descs": [wallet.scripts[script]["parent"]]}
            if is_coinbase(tx):
                category = "orphan" if conf <= 0 else (
                    "immature" if conf < 101 else "generate")
            else:
                category = "receive"
            item.update({"category": category, "amount": Amount(out.value)})
            if script in wallet.labels:
                item["label"] = wallet.labels[script]
            item.update({"vout": n, "abandoned": abandoned})
            details.append(item)
    return details


def _wallet_fee(wallet, tx):
    """What the wallet paid in fees: only known when every input is its own."""
    if not wallet.from_me(tx):
        return 0
    return sum(c[0] for c in (wallet._input_coin(i) for i in tx.vin) if c) - sum(
        o.value for o in tx.vout)


def _wallet_tx_fields(node, wallet, tx_id):
    """Core's WalletTxToJSON: a wallet tx's confirmations, block and conflicts."""
    record = wallet.txs[tx_id]
    tx = record["tx"]
    conf = wallet.confirmations(tx_id)
    result = {"confirmations": conf}
    if is_coinbase(tx):
        result["generated"] = True
    if conf <= 0:
        result["trusted"] = wallet.is_trusted(tx_id)
    block = wallet.tx_block(tx_id)
    if block is not None:
        result.update({"blockhash": block.hash, "blockheight": block.height,
                       "blockindex": [txid(t) for t in block.txs].index(tx_id),
                       "blocktime": block.time})
    result.update({
        "txid": tx_id, "wtxid": wtxid(tx),
        "walletconflicts": [c for c in wallet.wallet_conflicts(tx)],
        "mempoolconflicts": wallet.mempool_conflicts(tx),
        "time": record["time"], "timereceived": record["time"],
        "bip125-replaceable": wallet.rbf_state(tx_id),
    })
    return result


def _list_transactions(node, wallet, tx_id, min_depth, include_change=False):
    """Core's ListTransactions(fLong=true): one entry per send/receive detail."""
    tx = wallet.txs[tx_id]["tx"]
    fields = _wallet_tx_fields(node, wallet, tx_id)
    return [{**detail, **fields} for detail in _details(
        node, wallet, tx, _wallet_fee(wallet, tx), min_depth, include_change)]


@rpc("listsinceblock", ("blockhash", "string", False), ("target_confirmations", "number", False),
     ("include_watchonly", "bool", False), ("include_removed", "bool", False),
     ("include_change", "bool", False), ("label", "string", False), wallet=True)
def listsinceblock(node, wallet, blockhash, target_confirmations, _watchonly, include_removed,
                   include_change, label):
    chain = node.chain
    depth, detached = -1, []
    if blockhash:
        block = chain.blocks.get(parse_hash(blockhash, "blockhash"))
        if block is None:
            raise RPCError(-5, "Block not found")
        while not chain.in_active_chain(block.hash):  # a stale branch: back to the fork
            detached.append(block)
            block = chain.blocks[block.prev]
        depth = chain.height + 1 - block.height
    target = 1 if target_confirmations is None else target_confirmations
    if target < 1:
        raise RPCError(-8, "Invalid parameter")
    transactions = []
    for tx_id in sorted(wallet.txs, key=lambda t: wallet.txs[t]["order"]):
        if depth == -1 or abs(wallet.confirmations(tx_id)) < depth:
            entries = _list_transactions(node, wallet, tx_id, 0, bool(include_change))
            if label is not None:
                entries = [e for e in entries if e.get("label") == label]
            transactions.extend(entries)
    result = {"transactions": transactions}
    if include_removed is not False:
        # every confirmation count, even negative: what the detached blocks held for us
        result["removed"] = [entry for block in detached for tx in block.txs
                             if txid(tx) in wallet.txs
                             for entry in _list_transactions(node, wallet, txid(tx),
                                                             -100_000_000,
                                                             bool(include_change))]
    target = min(target, chain.height + 1)
    result["lastblock"] = chain.active[chain.height + 1 - target]
    return result


@rpc("gettransaction", ("txid", "string", True), ("include_watchonly", "bool", False),
     ("verbose", "bool", False), wallet=True)
def gettransaction(node, wallet, tx_id, include_watchonly, verbose):
    tx_id = parse_hash(tx_id, "txid")
    record = wallet.txs.get(tx_id)
    if record is None:
        raise RPCError(-5, "Invalid or non-wallet transaction id")
    tx = record["tx"]
    chain = node.chain
    credit = sum(o.value for o in tx.vout if wallet.is_mine(o.script_pubkey.data))
    debit = wallet.debit(tx)
    from_me = wallet.from_me(tx)
    fee = _wallet_fee(wallet, tx)
    amount = credit - debit + (fee if from_me else 0)
    result = {"amount": Amount(amount)}
    if from_me:
        result["fee"] = Amount(-fee)
    result.update(_wallet_tx_fields(node, wallet, tx_id))
    result.update({
        "details": _details(node, wallet, tx, fee),
        "hex": serialize(tx).hex(),
        "lastprocessedblock": {"hash": chain.tip.hash, "height": chain.height},
    })
    return result


@rpc("getreceivedbyaddress", ("address", "string", True), ("minconf", "number", False),
     ("include_immature_coinbase", "bool", False), wallet=True)
def getreceivedbyaddress(node, wallet, address, minconf, _immature):
    script = script_from_address(address)
    if script is None:
        raise RPCError(-5, "Invalid Bitcoin address")
    if not wallet.is_mine(script):
        raise RPCError(-4, "Address not found in wallet")
    minconf = 1 if minconf is None else minconf
    total = 0
    for tid, record in wallet.txs.items():
        tx = record["tx"]
        if is_coinbase(tx):
            continue
        conf = wallet.confirmations(tid)
        if conf < minconf or (conf == 0 and tid not in node.chain.mempool):
            continue
        total += sum(o.value for o in tx.vout if o.script_pubkey.data == script)
    return Amount(total)


@rpc("signrawtransactionwithwallet", ("hexstring", "string", True),
     ("prevtxs", "array", False), ("sighashtype", "string", False), wallet=True)
def signrawtransactionwithwallet(node, wallet, hexstring, prevtxs, sighashtype):
    tx = decode_tx(hexstring)
    if not wallet.private_keys_enabled:
        raise RPCError(-4, "Private keys are disabled for this wallet")
    prevouts = wallet.prevouts_for(tx)
    complete = wallet.sign(tx, prevouts)
    result = {"hex": serialize(tx).hex(), "complete": complete}
    return result


@rpc("importdescriptors", ("requests", "array", True), wallet=True)
def importdescriptors(node, wallet, requests):
    chain = node.chain
    now = chain.median_time_past(chain.tip)  # Core's "now": the tip's median time past
    timestamps = []
    for req in requests:
        if "timestamp" not in req:  # the whole call fails, as in Core
            raise RPCError(-3, "Missing required timestamp field for key")
        timestamp = req["timestamp"]
        if timestamp == "now":
            timestamps.append(now)
        elif isinstance(timestamp, int) and not isinstance(timestamp, bool):
            timestamps.append(max(timestamp, 1))
        else:
            raise RPCError(-3, f"Expected number or \"now\" timestamp value for key. got type "
                               f"{_json_type(timestamp)}")
    results = []
    for req, timestamp in zip(requests, timestamps, strict=True):
        try:
            if "#" not in req["desc"]:
                raise RPCError(-5, "Missing checksum")
            _parse_descriptor(req["desc"])  # a wrong checksum or address fails here
            range_spec = req.get("range", 1000)
            end = range_spec[1] if isinstance(range_spec, list) else range_spec
            wallet.import_descriptor(req["desc"], max(end, 1000), req.get("label"),
                                     timestamp=timestamp)
            results.append({"success": True})
        except RPCError as exc:
            results.append({"success": False, "error": {"code": exc.code,
                                                        "message": exc.message}})
        except Exception as exc:  # report like Core: per-request error object
            results.append({"success": False, "error": {"code": -5, "message": str(exc)}})
    return results


@rpc("getaddressinfo", ("address", "string", True), wallet=True)
def getaddressinfo(node, wallet, address):
    """What Core says of a script in a descriptor wallet, in its field order. Modelled: the
    wallet's own HD keys, addr()/raw() imports, multisig imports and scripts not in the
    wallet (the recorded cases); key details of other imported single-key descriptors are
    not (Core adds pubkey, timestamp and HD fields for those)."""
    script = script_from_address(address)
    if script is None:
        raise RPCError(-5, "Invalid or unsupported Segwit (Bech32) or Base58 encoding.")
    info = wallet.scripts.get(script)
    mine = info is not None
    solvable = mine and info.get("desc") is not None
    result = {"address": address, "scriptPubKey": script.hex(), "ismine": mine,
              "solvable": solvable}
    if solvable:
        result["desc"] = info["desc"]
    if mine:
        result["parent_desc"] = info["parent"]
    result["iswatchonly"] = False
    result.update({k: v for k, v in validateaddress(node, address).items()
                   if k in ("isscript", "iswitness", "witness_version", "witness_program")})
    witness_script = info.get("witness_script") if mine else None
    multisig = parse_multisig(witness_script) if witness_script is not None else None
    if multisig is not None:
        required, keys = multisig
        result.update({"script": "multisig", "hex": witness_script.hex(),
                       "sigsrequired": required, "pubkeys": [k.hex() for k in keys]})
    elif mine and info.get("key") is not None:
        result["pubkey"] = info["key"].get_public_key().sec().hex()
    # Core: a script of the wallet without an address book entry counts as change.
    result["ischange"] = mine and script not in wallet.labels
    if mine and info.get("key") is not None:
        desc = info["desc"]
        origin = desc[desc.index("[") + 1:desc.index("]")].split("/")
        result.update({"timestamp": wallet.birth_time, "hdkeypath": "m/" + "/".join(origin[1:]),
                       "hdseedid": "0" * 40, "hdmasterfingerprint": origin[0]})
    result["labels"] = [wallet.labels[script]] if script in wallet.labels else []
    return result



@rpc("getwalletinfo", wallet=True)
def getwalletinfo(node, wallet):
    keys = wallet.private_keys_enabled and wallet.root is not None
    flags = ["last_hardened_xpub_cached"]
    if not wallet.private_keys_enabled:
        flags.append("disable_private_keys")
    if wallet.blank:
        flags.append("blank")
    flags.append("descriptor_wallet")
    return {
        "walletname": wallet.name, "walletversion": 169900, "format": "sqlite",
        "txcount": len(wallet.txs), "keypoolsize": 1000 if keys else 0,
        "keypoolsize_hd_internal": 1000 if keys else 0, "paytxfee": Amount(0),
        "private_keys_enabled": wallet.private_keys_enabled, "avoid_reuse": False,
        "scanning": False, "descriptors": True, "external_signer": False,
        "blank": wallet.blank, "birthtime": 1, "flags": flags,
        "lastprocessedblock": {"hash": node.chain.tip.hash, "height": node.chain.height},
    }
