"""The one module that talks to the Bitcoin node, through bitcoinlib's bitcoind client.

Everything else in Qazyna gets small frozen values from here and a few domain errors
(chain.errors); nothing outside this module imports bitcoinlib.

Why the client is built the way it is (bitcoinlib 0.7.10's traps, each pinned by a test in
tests/chain/test_adapter_traps.py):

- We build bitcoinlib's ``BitcoindClient`` (the client behind ``Service(providers=['bitcoind'])``)
  ourselves, with the operator's node URL from settings. ``Service`` would read provider URLs
  from ~/.bitcoinlib/providers.json, may fall back to public providers (never the source of
  truth here), and keeps a cache.
- No cache. ``Service``'s cache (SQLite in ~/.bitcoinlib unless told otherwise) outlives a chain
  reset or a reorg and would answer for transactions that no longer exist. We never construct
  ``Service``/``Cache``; every answer comes from the node.
- No cached block count. ``Service.blockcount()`` is cached for BLOCK_COUNT_CACHE_TIME seconds
  and ``BitcoindClient._parse_transaction`` caches ``latest_block``: confirmations computed from
  it lag. ``tip()`` asks the node every time and confirmations are derived here from the block
  hash and height the node reports, checked against the active chain.
- Addresses: bitcoinlib's ``regtest`` network carries mainnet legacy prefixes (0x00/0x05/0x80)
  where Bitcoin Core regtest uses 0x6f/0xc4/0xef. Addresses are derived from scriptPubKey with
  embit on Qazyna's own network table (core.bitcoin.embit_network), never by bitcoinlib.
- txids are computed from the raw bytes (``txid_of``): bitcoinlib's ``Transaction.sign()`` does
  not refresh ``Transaction.txid``, so a txid read from a bitcoinlib object after signing a
  legacy input is the unsigned one.
- A transaction that lost a double spend in a reorg is still found by ``getrawtransaction``
  (the txindex points at the stale block): it carries the stale ``blockhash`` with
  ``confirmations: 0``. A block hash from the node is only believed after checking that the
  active chain has that hash at that height.
- ``estimatesmartfee`` on a young chain returns only ``errors``; bitcoinlib then calls
  ``estimatefee``, which Core removed (HTTP 404). We call ``estimatesmartfee`` ourselves and
  fall back to settings.FALLBACK_FEE_RATE_SAT_VB, capped by MAX_FEE_RATE_SAT_VB.
- bitcoinlib sends no ``jsonrpc`` field, so Core answers in legacy style: RPC errors with HTTP
  500 (JSON body), unknown methods with 404, a wrong password with 401 and an empty non-JSON
  body (bitcoinlib reports that as code -342, the status only in its message). Those are
  mapped to chain.errors: 401/403 are NodeMisconfigured (an operator must act; tasks never
  retry it), as are a node on another network and the devchain where settings forbid it;
  other non-JSON replies, refused connections and timeouts are NodeUnavailable (retried).
- Looking up a confirmed transaction by txid needs ``-txindex=1`` on the node (or the block
  hash passed in): production nodes must run with it.

The UTXOs of given addresses (``address_utxos``) come from a watch-only descriptor wallet on
the node, not from ``scantxoutset``: a scan walks the whole UTXO set (minutes on mainnet, far
beyond the RPC timeout) and Core runs one at a time (a second is -8, ``ScanInProgress``).
The scan stays for reconciliation's cross-check, with its own timeout. The wallet's traps
(tests/chain/test_address_utxos.py, tests/devchain/test_core_parity.py):

- ``listunspent`` for an address the wallet does not know answers ``[]``, not an error: each
  address is checked with ``getaddressinfo`` (``ismine``) and imported if missing.
- Right after an import ``ismine`` is true while the rescan still runs; ``getwalletinfo``
  says ``scanning``, and we refuse to answer until it is done.
- ``listunspent`` leaves out a coin a mempool transaction spends; the UTXO set (and so
  ``scan_utxos``) still has it, and the watchers must know it to see it leave. Those coins
  are found through the wallet's unconfirmed spends (``listsinceblock``) and ``gettxout``:
  ``getrawtransaction`` has no prevouts for a mempool transaction in Core.
- A wallet the node has not loaded (restart, a new node) answers -18: it is loaded, or
  created (blank, no private keys, loaded at start-up), and the call retried. A node run
  with -disablewallet has no wallet RPCs at all (-32601): NodeMisconfigured.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote, urlsplit, urlunsplit

from bitcoinlib.services.authproxy import AuthServiceProxy, JSONRPCException
from bitcoinlib.services.bitcoind import BitcoindClient
from django.conf import settings
from embit.descriptor.checksum import add_checksum
from embit.script import Script
from embit.transaction import Transaction as EmbitTransaction

from core.bitcoin import embit_network

from .errors import (
    ChainError,
    DevchainRefused,
    NodeMisconfigured,
    NodeUnavailable,
    ScanInProgress,
    TransactionRejected,
    UnknownTransaction,
)

log = logging.getLogger(__name__)

SATS = Decimal(100_000_000)
# bitcoinlib's own network names; only used to build its client, never to encode addresses.
_BITCOINLIB_NETWORK = {"mainnet": "bitcoin", "testnet": "testnet", "signet": "signet",
                       "regtest": "regtest"}
_UNKNOWN_TX_CODES = {-5}
_REJECT_CODES = {-25, -26, -27}  # verify error, rejected, already in chain
_WARMUP_CODE = -28
_NON_JSON_CODE = -342  # bitcoinlib: non-JSON HTTP reply (401 with an empty body, a proxy page)
# bitcoinlib's -342 message carries the HTTP status: "non-JSON HTTP response with '401 ...'"
_HTTP_STATUS = re.compile(r"'(\d{3})\b")
# Statuses that say "fix the configuration", not "try again": wrong credentials (401), an
# address the node's -rpcallowip does not allow (403).
_MISCONFIGURED_STATUSES = {401: "the node refuses the RPC credentials",
                           403: "the node refuses connections from this address (-rpcallowip)"}
# Our network names → the `chain` getblockchaininfo reports.
_CORE_CHAINS = {"mainnet": {"main"}, "testnet": {"test", "testnet4"}, "signet": {"signet"},
                "regtest": {"regtest"}}
DEVCHAIN_MARKERS = ("devchain",)
DEFAULT_WATCH_WALLET = "qazyna-watch"


# --- values ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Tip:
    height: int
    block_hash: str
    time: int


@dataclass(frozen=True, slots=True)
class Outpoint:
    txid: str
    vout: int

    def __str__(self):
        return f"{self.txid}:{self.vout}"


@dataclass(frozen=True, slots=True)
class TxOutput:
    n: int
    address: str | None
    script_pubkey: str
    value_sats: int


@dataclass(frozen=True, slots=True)
class ChainTx:
    """A transaction as seen in a block or the mempool (no confirmation data)."""

    txid: str
    inputs: tuple[Outpoint, ...]
    outputs: tuple[TxOutput, ...]
    replaceable: bool = False

    @property
    def is_coinbase(self):
        return not self.inputs


@dataclass(frozen=True, slots=True)
class TxStatus:
    txid: str
    in_mempool: bool
    block_hash: str | None  # only when that block is on the active chain
    block_height: int | None
    confirmations: int
    raw_hex: str | None
    inputs: tuple[Outpoint, ...]
    outputs: tuple[TxOutput, ...]
    stale_block_hash: str | None = None  # the node named a block that is no longer active


@dataclass(frozen=True, slots=True)
class OutpointSpender:
    """What the node's mempool says of one outpoint (gettxspendingprevout): spending_txid is
    the mempool transaction spending it, or None when no mempool transaction does (unspent,
    or spent in a block: Core v30 looks only in the mempool, it has no spender index)."""

    outpoint: Outpoint
    spending_txid: str | None


@dataclass(frozen=True, slots=True)
class Utxo:
    txid: str
    vout: int
    value_sats: int
    script_pubkey: str
    address: str | None
    height: int | None
    confirmations: int


@dataclass(frozen=True, slots=True)
class BroadcastResult:
    txid: str
    accepted: bool
    already_known: bool


@dataclass(frozen=True, slots=True)
class Block:
    block_hash: str
    height: int
    prev_hash: str | None
    time: int
    txs: tuple[ChainTx, ...]


@dataclass(frozen=True, slots=True)
class NodeEndpoint:
    url: str = field(repr=False)  # carries the RPC password
    network: str
    timeout: int

    @property
    def safe_url(self):
        """The URL without credentials, for logs and errors."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))


# --- pure helpers -------------------------------------------------------------------------
def to_sats(value) -> int:
    amount = Decimal(str(value)) * SATS
    if amount != amount.to_integral_value():
        raise ChainError(f"amount {value} is not a whole number of satoshis")
    return int(amount)


def address_from_script(script_pubkey_hex, network):
    """The address Bitcoin Core shows for this scriptPubKey on network, or None."""
    try:
        return Script(bytes.fromhex(script_pubkey_hex)).address(embit_network(network))
    except Exception:  # noqa: BLE001 - OP_RETURN, bare multisig, non-standard
        return None


def txid_of(raw_hex) -> str:
    """The txid of a serialized transaction: double SHA-256 of its non-witness form."""
    tx = EmbitTransaction.parse(bytes.fromhex(raw_hex))
    return tx.txid().hex()


def is_devchain(networkinfo, chaininfo) -> bool:
    texts = [str(networkinfo.get("subversion", ""))]
    for info in (networkinfo, chaininfo):
        warnings = info.get("warnings") or []
        texts.extend(warnings if isinstance(warnings, list) else [str(warnings)])
    return any(marker in text.lower() for text in texts for marker in DEVCHAIN_MARKERS)


# --- the adapter ----------------------------------------------------------------------------
class ChainAdapter:
    """Thread-safe enough for a Celery worker: one HTTP connection per call."""

    def __init__(self, *, url, network, timeout=10, devchain_allowed=True,
                 watch_wallet=DEFAULT_WATCH_WALLET):
        if network not in _BITCOINLIB_NETWORK:
            raise ChainError(f"Unknown network {network!r}")
        self.endpoint = NodeEndpoint(url=url, network=network, timeout=timeout)
        self.network = network
        self.devchain_allowed = devchain_allowed
        self.watch_wallet = watch_wallet
        self.calls = 0  # node calls made, for the benchmark and tests
        self._checked = False  # network (and devchain) check, once, on the first call
        self._lock = threading.Lock()
        # bitcoinlib's bitcoind client, only for the calls it gets right; its proxy class
        # (AuthServiceProxy) carries every request.
        self._client = BitcoindClient(_BITCOINLIB_NETWORK[network], url, 100_000_000)

    def __repr__(self):
        return f"<ChainAdapter {self.network} {self.endpoint.safe_url}>"

    # --- transport ---------------------------------------------------------------------
    def _proxy(self, wallet=None, timeout=None):
        # A fresh proxy per call: AuthServiceProxy leaves its connection unusable after a
        # non-JSON reply or a timeout, so reusing it would turn one failure into many.
        url = self.endpoint.url
        if wallet is not None:  # wallet RPCs go to /wallet/<name>
            parts = urlsplit(url)
            url = urlunsplit((parts.scheme, parts.netloc, f"/wallet/{quote(wallet, safe='')}",
                              "", ""))
        return AuthServiceProxy(url, timeout=timeout or self.endpoint.timeout)

    def call(self, method, *params, wallet=None, timeout=None):
        if not self._checked:
            self._check_node()
        return self._raw_call(method, *params, wallet=wallet, timeout=timeout)

    def _raw_call(self, method, *params, wallet=None, timeout=None):
        with self._lock:
            self.calls += 1
        try:
            return getattr(self._proxy(wallet, timeout), method)(*params)
        except JSONRPCException as exc:
            code, message = exc.code, exc.message or ""
            if code == _NON_JSON_CODE:
                found = _HTTP_STATUS.search(message)
                status = int(found.group(1)) if found else None
                if status is not None and status in _MISCONFIGURED_STATUSES:
                    raise NodeMisconfigured(
                        f"{self.endpoint.safe_url}: HTTP {status}: "
                        f"{_MISCONFIGURED_STATUSES[status]}; check BITCOIN_RPC_URL") from None
                raise NodeUnavailable(f"{self.endpoint.safe_url}: {message} (not a Bitcoin "
                                      "node's JSON-RPC reply)") from None
            if code == _WARMUP_CODE:
                raise NodeUnavailable(f"node warming up: {message}") from None
            raise _RpcError(code, message) from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise NodeUnavailable(f"{self.endpoint.safe_url}: {type(exc).__name__}: "
                                  f"{exc}") from None

    def _check_node(self):
        """Once per adapter: the node is on our network, and not the development chain
        unless settings allow it. Either is a configuration error, never retried."""
        if not self.devchain_allowed:
            networkinfo = self._raw_call("getnetworkinfo")
            chaininfo = self._raw_call("getblockchaininfo")
            if is_devchain(networkinfo, chaininfo):
                raise DevchainRefused(f"{self.endpoint.safe_url} is the development chain, "
                                      "and DEVCHAIN_ALLOWED is off.")
        else:
            chaininfo = self._raw_call("getblockchaininfo")
        chain = chaininfo.get("chain")
        if chain not in _CORE_CHAINS[self.network]:
            raise NodeMisconfigured(f"{self.endpoint.safe_url} is a {chain!r} node; "
                                    f"BITCOIN_NETWORK is {self.network!r}.")
        self._checked = True

    # --- chain ----------------------------------------------------------------------------
    def tip(self) -> Tip:
        """Asked of the node every time (bitcoinlib caches its block count)."""
        info = self.call("getblockchaininfo")
        # Not headers - blocks: invalid branches (invalidateblock) can count in headers.
        if info.get("initialblockdownload"):
            raise NodeUnavailable(f"node still syncing (at {info['blocks']})")
        return Tip(height=int(info["blocks"]), block_hash=info["bestblockhash"],
                   time=int(info["time"]))

    def block_hash_at(self, height) -> str | None:
        try:
            return self.call("getblockhash", height)
        except _RpcError as exc:
            if exc.code == -8:  # height out of range: the chain is shorter now
                return None
            raise exc.domain() from None

    def get_block(self, block_hash) -> Block:
        try:
            raw = self.call("getblock", block_hash, 2)
        except _RpcError as exc:
            raise exc.domain() from None
        txs = tuple(self._chain_tx(tx) for tx in raw["tx"])
        return Block(block_hash=raw["hash"], height=int(raw["height"]),
                     prev_hash=raw.get("previousblockhash"), time=int(raw["time"]), txs=txs)

    def block_is_active(self, block_hash, height) -> bool:
        return height is not None and self.block_hash_at(height) == block_hash

    def mempool_txids(self) -> set[str]:
        try:
            return set(self.call("getrawmempool"))
        except _RpcError as exc:
            raise exc.domain() from None

    def mempool_tx(self, txid) -> ChainTx | None:
        """A mempool transaction, or None if it left the mempool meanwhile."""
        try:
            raw = self.call("getrawtransaction", txid, 1)
        except _RpcError as exc:
            if exc.code in _UNKNOWN_TX_CODES:
                return None
            raise exc.domain() from None
        return self._chain_tx(raw)

    def get_transaction(self, txid, block_hash=None) -> TxStatus:
        """Where the transaction is now. Needs -txindex=1 on the node unless block_hash is
        given. A block hash the node reports is checked against the active chain."""
        params = (txid, 1) if block_hash is None else (txid, 1, block_hash)
        try:
            raw = self.call("getrawtransaction", *params)
        except _RpcError as exc:
            if exc.code in _UNKNOWN_TX_CODES:
                raise UnknownTransaction(txid, exc.message) from None
            raise exc.domain() from None
        tx = self._chain_tx(raw)
        reported = raw.get("blockhash")
        tip = self.tip()
        active_hash = active_height = None
        stale = None
        if reported:
            header = self._header(reported)
            height = int(header["height"]) if header else None
            # Believe the node's blockhash only if the active chain has it at that height;
            # never its "confirmations" alone (0 with a stale hash after a reorg).
            if height is not None and self.block_is_active(reported, height):
                active_hash, active_height = reported, height
            else:
                stale = reported
        in_mempool = False
        if active_hash is None:
            in_mempool = txid in self.mempool_txids()
        confirmations = tip.height - active_height + 1 if active_height is not None else 0
        return TxStatus(txid=tx.txid, in_mempool=in_mempool, block_hash=active_hash,
                        block_height=active_height, confirmations=max(confirmations, 0),
                        raw_hex=raw.get("hex"), inputs=tx.inputs, outputs=tx.outputs,
                        stale_block_hash=stale)

    def _header(self, block_hash):
        try:
            return self.call("getblockheader", block_hash, True)
        except _RpcError as exc:
            if exc.code == -5:
                return None
            raise exc.domain() from None

    def get_raw_transaction_hex(self, txid) -> str:
        try:
            return self.call("getrawtransaction", txid, 0)
        except _RpcError as exc:
            if exc.code in _UNKNOWN_TX_CODES:
                raise UnknownTransaction(txid, exc.message) from None
            raise exc.domain() from None

    def outpoint_spent(self, outpoint: Outpoint, include_mempool=True) -> bool:
        """True when the output no longer exists in the UTXO set (spent, or never was)."""
        try:
            return self.call("gettxout", outpoint.txid, outpoint.vout, include_mempool) is None
        except _RpcError as exc:
            raise exc.domain() from None

    def mempool_spenders(self, outpoints) -> tuple[OutpointSpender, ...]:
        """The mempool transaction spending each outpoint, in order (gettxspendingprevout:
        the mempool only on Core v30; a spend in a block is not named, and the caller must
        say so rather than guess)."""
        wanted = [Outpoint(o.txid, int(o.vout)) for o in outpoints]
        if not wanted:
            return ()
        try:
            result = self.call("gettxspendingprevout",
                               [{"txid": o.txid, "vout": o.vout} for o in wanted])
        except _RpcError as exc:
            raise exc.domain() from None
        spenders = {(item["txid"], int(item["vout"])): item.get("spendingtxid")
                    for item in result}
        return tuple(OutpointSpender(outpoint=o, spending_txid=spenders.get((o.txid, o.vout)))
                     for o in wanted)

    def scan_utxos(self, descriptors_or_addresses) -> list[Utxo]:
        """scantxoutset over addr(...) or descriptors: a walk over the whole UTXO set that
        needs no wallet. Minutes on mainnet, one at a time per node (ScanInProgress), so only
        for an explicit cross-check (reconciliation), with BITCOIN_RPC_SCAN_TIMEOUT; hot
        paths use address_utxos(). Confirmed coins only, and still listed while a mempool
        transaction spends them."""
        objects = [d if "(" in d else f"addr({d})" for d in descriptors_or_addresses]
        if not objects:
            return []
        try:
            result = self.call("scantxoutset", "start", objects,
                               timeout=settings.BITCOIN_RPC_SCAN_TIMEOUT)
        except _RpcError as exc:
            if exc.code == -8 and "already in progress" in exc.message:
                raise ScanInProgress(f"the node is already scanning its UTXO set: "
                                     f"{exc.message}") from None
            raise exc.domain() from None
        tip_height = int(result["height"])
        utxos = []
        for item in result["unspents"]:
            height = int(item["height"]) if item.get("height") else None
            utxos.append(Utxo(
                txid=item["txid"], vout=int(item["vout"]), value_sats=to_sats(item["amount"]),
                script_pubkey=item["scriptPubKey"],
                address=address_from_script(item["scriptPubKey"], self.network),
                height=height,
                confirmations=tip_height - height + 1 if height else 0,
            ))
        return sorted(utxos, key=lambda u: (u.txid, u.vout))

    # --- the watch-only wallet: the UTXOs of given addresses, without a UTXO-set scan -----
    def address_utxos(self, addresses) -> list[Utxo]:
        """The confirmed unspent outputs at these addresses, as scan_utxos() finds them
        (unconfirmed coins are not listed; coins a mempool transaction spends still are),
        from the node's watch-only descriptor wallet (BITCOIN_WATCH_WALLET): index lookups,
        not a walk over the UTXO set. An address the wallet does not know yet is imported
        first, rescanning from BITCOIN_WATCH_RESCAN_FROM (chain.services.watch_address
        normally registers it, with its birth, long before)."""
        wanted = sorted(set(addresses))
        if not wanted:
            return []
        tip = self._watch_wallet_tip()
        # A wallet answers listunspent for an address it does not know with [], no error.
        unknown = [a for a in wanted
                   if not self._wallet_call("getaddressinfo", a).get("ismine")]
        if unknown:
            self.watch_addresses(unknown, since=settings.BITCOIN_WATCH_RESCAN_FROM)
        for _ in range(3):
            unspent = self._wallet_call("listunspent", 1, 9_999_999, wanted)
            spending = self._coins_spent_in_mempool(set(wanted), tip)
            # Confirmations count from the wallet's last processed block (gettxout's from
            # the chain tip): the same block throughout, or derived heights would be off.
            after = self._watch_wallet_tip()
            if after == tip and all(c["bestblock"] == tip[1] for c in spending.values()):
                break
            tip = after
        tip_height = tip[0]
        utxos = {}
        for item in unspent:
            confirmations = int(item["confirmations"])
            utxos[(item["txid"], int(item["vout"]))] = Utxo(
                txid=item["txid"], vout=int(item["vout"]), value_sats=to_sats(item["amount"]),
                script_pubkey=item["scriptPubKey"],
                address=address_from_script(item["scriptPubKey"], self.network),
                height=tip_height - confirmations + 1, confirmations=confirmations)
        for (txid, vout), coin in spending.items():
            confirmations = int(coin["confirmations"])
            utxos[(txid, vout)] = Utxo(
                txid=txid, vout=vout, value_sats=to_sats(coin["value"]),
                script_pubkey=coin["scriptPubKey"]["hex"],
                address=address_from_script(coin["scriptPubKey"]["hex"], self.network),
                height=tip_height - confirmations + 1, confirmations=confirmations)
        return sorted(utxos.values(), key=lambda u: (u.txid, u.vout))

    def _coins_spent_in_mempool(self, wanted, tip) -> dict:
        """{(txid, vout): gettxout reply} of confirmed coins at `wanted` addresses that a
        mempool transaction spends. listunspent leaves them out; the UTXO set (and
        scan_utxos) still has them, and the watchers must know a coin to see it leave.
        The wallet lists every unconfirmed transaction that spends one of its coins
        ("send" entries since its tip); each input of those is looked up in the confirmed
        UTXO set (gettxout without the mempool). Core's getrawtransaction has no prevouts
        for a mempool transaction, so this is the way to learn what an input spends."""
        since = self._wallet_call("listsinceblock", tip[1], 1, True, False, True)
        spenders = sorted({e["txid"] for e in since["transactions"]
                           if e.get("confirmations") == 0 and e.get("category") == "send"})
        found = {}
        for txid in spenders:
            try:
                raw = self.call("getrawtransaction", txid, 1)
            except _RpcError as exc:
                if exc.code in _UNKNOWN_TX_CODES:  # replaced or dropped meanwhile
                    continue
                raise exc.domain() from None
            if raw.get("blockhash"):  # not in the mempool (a stale block's transaction)
                continue
            for vin in raw["vin"]:
                if "coinbase" in vin:
                    continue
                try:
                    coin = self.call("gettxout", vin["txid"], vin["vout"], False)
                except _RpcError as exc:
                    raise exc.domain() from None
                if coin is None:  # an output of another mempool transaction
                    continue
                if address_from_script(coin["scriptPubKey"]["hex"], self.network) in wanted:
                    found[(vin["txid"], int(vin["vout"]))] = coin
        return found

    def watch_addresses(self, addresses, *, since=None) -> None:
        """Import addr() descriptors into the watch-only wallet. since: the unix time before
        which nothing can have paid them (the node rescans from two hours earlier); None is
        "now", for addresses that were just derived. Importing twice is harmless."""
        addresses = sorted(set(addresses))
        if not addresses:
            return
        self._watch_wallet_tip()
        timestamp = "now" if since is None else max(int(since), 0)
        requests = [{"desc": add_checksum(f"addr({a})"), "timestamp": timestamp}
                    for a in addresses]
        results = self._wallet_call("importdescriptors", requests,
                                    timeout=settings.BITCOIN_RPC_SCAN_TIMEOUT)
        failed = [(a, r.get("error", {}).get("message", "?"))
                  for a, r in zip(addresses, results, strict=True) if not r.get("success")]
        if failed:
            raise ChainError("the watch wallet refused " + "; ".join(
                f"{a}: {message}" for a, message in failed))

    def _watch_wallet_tip(self) -> tuple[int, str]:
        """Load (or create) the watch wallet; refuse to answer while it rescans, when its
        listunspent would be missing coins. Returns its last processed block (height,
        hash)."""
        info = self._wallet_call("getwalletinfo")
        scanning = info.get("scanning")
        if scanning:
            progress = scanning.get("progress", 0) if isinstance(scanning, dict) else 0
            raise NodeUnavailable(f"the watch wallet {self.watch_wallet!r} is rescanning "
                                  f"({float(progress):.0%}); try again later")
        block = info["lastprocessedblock"]
        return int(block["height"]), block["hash"]

    def _wallet_call(self, method, *params, timeout=None):
        """A call on the watch wallet; if the node has not loaded it (a restart, a new
        node), load it, or create it (watch-only, blank, loaded at start-up) and retry."""
        try:
            return self.call(method, *params, wallet=self.watch_wallet, timeout=timeout)
        except _RpcError as exc:
            if exc.code != -18:  # -18: the node has no such wallet loaded
                raise _wallet_error(exc) from None
        self._load_watch_wallet()
        try:
            return self.call(method, *params, wallet=self.watch_wallet, timeout=timeout)
        except _RpcError as exc:
            raise _wallet_error(exc) from None

    def _load_watch_wallet(self):
        name = self.watch_wallet
        try:
            self.call("loadwallet", name)
            return
        except _RpcError as exc:
            if exc.code == -35:  # already loaded (by a concurrent caller)
                return
            if exc.code != -18:  # -18: no such wallet on this node
                raise _wallet_error(exc) from None
        log.warning("creating the watch-only wallet %r on %s", name, self.endpoint.safe_url)
        try:
            # disable_private_keys, blank, no passphrase, no avoid_reuse, descriptors,
            # load_on_startup: it survives a node restart.
            self.call("createwallet", name, True, True, None, False, True, True)
        except _RpcError as exc:
            if exc.code != -4 or "already exists" not in exc.message:  # a concurrent create
                raise exc.domain() from None
            self._load_watch_wallet()

    # --- sending ------------------------------------------------------------------------
    def broadcast(self, raw_hex) -> BroadcastResult:
        expected = txid_of(raw_hex)
        try:
            txid = self.call("sendrawtransaction", raw_hex)
        except _RpcError as exc:
            if exc.code == -27 or "already" in exc.message.lower() and "known" in \
                    exc.message.lower():
                return BroadcastResult(txid=expected, accepted=True, already_known=True)
            if exc.code in _REJECT_CODES or exc.code in (-22, -8):
                raise TransactionRejected(exc.code, exc.message) from None
            raise exc.domain() from None
        if txid != expected:
            raise ChainError(f"node returned txid {txid} for a transaction whose txid is "
                             f"{expected}")
        return BroadcastResult(txid=txid, accepted=True, already_known=False)

    def test_accept(self, raw_hex) -> tuple[bool, str | None]:
        try:
            result = self.call("testmempoolaccept", [raw_hex])[0]
        except _RpcError as exc:
            if exc.code in (-22, -8):
                return False, exc.message
            raise exc.domain() from None
        if result.get("allowed"):
            return True, None
        return False, result.get("reject-details") or result.get("reject-reason")

    def estimate_fee_rate_sat_vb(self, target_blocks=6) -> int:
        """The node's estimate in sat/vB, or the fallback when it has none; never above the
        ceiling. (bitcoinlib's estimatefee() falls back to the removed estimatefee RPC.)"""
        ceiling = settings.MAX_FEE_RATE_SAT_VB
        try:
            result = self.call("estimatesmartfee", target_blocks)
        except _RpcError as exc:
            raise exc.domain() from None
        rate = result.get("feerate")
        if rate is None:
            return min(settings.FALLBACK_FEE_RATE_SAT_VB, ceiling)
        # BTC/kvB → sat/vB, rounded up so the estimate is not undercut.
        sat_vb = -(-to_sats(rate) // 1000)
        return max(1, min(sat_vb, ceiling))

    # --- parsing ------------------------------------------------------------------------
    def _chain_tx(self, raw) -> ChainTx:
        inputs = tuple(Outpoint(vin["txid"], int(vin["vout"])) for vin in raw["vin"]
                       if "coinbase" not in vin)
        outputs = tuple(
            TxOutput(n=int(out["n"]), script_pubkey=out["scriptPubKey"]["hex"],
                     address=address_from_script(out["scriptPubKey"]["hex"], self.network),
                     value_sats=to_sats(out["value"]))
            for out in raw["vout"]
        )
        replaceable = any(vin.get("sequence", 0xFFFFFFFF) < 0xFFFFFFFE for vin in raw["vin"])
        return ChainTx(txid=raw["txid"], inputs=inputs, outputs=outputs, replaceable=replaceable)


def _wallet_error(exc):
    """A wallet busy with a rescan or a load is a wait, not a failure; a node without wallet
    support is a configuration to fix."""
    message = exc.message.lower()
    if exc.code == -4 and ("rescanning" in message or "already loading" in message):
        return NodeUnavailable(f"the watch wallet is busy: {exc.message}")
    if exc.code == -32601:  # no wallet RPCs at all: -disablewallet, or built without it
        return NodeMisconfigured("the node has no wallet support (-disablewallet?): Qazyna "
                                 "keeps a watch-only wallet there to find its addresses' coins")
    return exc.domain()


class _RpcError(ChainError):
    """An RPC error reply, before it is mapped to what it means for the caller."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def domain(self):
        if self.code == -32601:
            return ChainError(f"the node does not know this method ({self.message})")
        return ChainError(f"node error {self.code}: {self.message}")


_adapters: dict[tuple, ChainAdapter] = {}
_adapters_lock = threading.Lock()


def get_adapter() -> ChainAdapter:
    """The adapter for settings.BITCOIN_RPC_URL / BITCOIN_NETWORK (one per configuration)."""
    key = (settings.BITCOIN_RPC_URL, settings.BITCOIN_NETWORK, settings.BITCOIN_RPC_TIMEOUT,
           settings.DEVCHAIN_ALLOWED, settings.BITCOIN_WATCH_WALLET)
    with _adapters_lock:
        adapter = _adapters.get(key)
        if adapter is None:
            adapter = ChainAdapter(url=key[0], network=key[1], timeout=key[2],
                                   devchain_allowed=key[3], watch_wallet=key[4])
            _adapters[key] = adapter
        return adapter


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()
