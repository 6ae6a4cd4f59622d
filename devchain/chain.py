"""The regtest chain: block tree, active chain, UTXO set, txindex, mempool and reorgs.

All public methods expect the caller to hold ``Chain.lock`` (the RPC layer takes it once per
request). Amounts are integer satoshis.
"""

import threading
import time
from dataclasses import dataclass, field

from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from .encoding import MAX_MONEY
from .network import (
    COINBASE_MATURITY,
    GENESIS_TIME,
    REGTEST_BITS,
    block_subsidy,
)
from .script import ScriptError, verify_input
from .tx import (
    is_coinbase,
    parse_tx,
    serialize,
    sha256d,
    signals_rbf,
    txid,
    vsize,
    weight,
    wtxid,
)

MEMPOOL_HEIGHT = 0x7FFFFFFF
MIN_RELAY_FEERATE = 100  # sat/kvB (0.1 sat/vB), also the incremental relay fee
INCREMENTAL_RELAY_FEERATE = 100
DUST_RELAY_FEERATE = 3000  # sat/kvB
DEFAULT_MAX_FEERATE = 10_000_000  # 0.10 BTC/kvB in sat/kvB
BLOCK_VERSION = 0x20000000
REGTEST_TARGET = 0x7FFFFF << (8 * (0x20 - 3))
WORK_PER_BLOCK = (1 << 256) // (REGTEST_TARGET + 1)
WITNESS_COMMITMENT_HEADER = bytes.fromhex("aa21a9ed")

GENESIS_COINBASE = (
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff"
    "001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e"
    "6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104"
    "678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51e"
    "c112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000"
)


def fee_for(feerate_per_kvb: int, size: int) -> int:
    """CFeeRate::GetFee: rounded up."""
    return -(-feerate_per_kvb * size // 1000)


def format_money(sats: int) -> str:
    """Core's FormatMoney: 8 decimals with trailing zeros trimmed down to 2 decimals."""
    sign = "-" if sats < 0 else ""
    whole, frac = divmod(abs(sats), 100_000_000)
    text = f"{frac:08d}"
    while len(text) > 2 and text.endswith("0"):
        text = text[:-1]
    return f"{sign}{whole}.{text}"


def format_feerate(sat_per_kvb: int) -> str:
    whole, frac = divmod(sat_per_kvb, 100_000_000)
    return f"{whole}.{frac:08d} BTC/kvB"


@dataclass
class Coin:
    value: int
    script: bytes
    height: int
    coinbase: bool = False


@dataclass
class Block:
    hash: str
    version: int
    prev: str | None
    merkle: str
    time: int
    bits: int
    nonce: int
    height: int
    txs: list
    chainwork: int
    seq: int
    header_hex: str = ""
    raw_hex: str = ""
    failed: bool = False  # marked invalid by invalidateblock or by failing to connect

    @property
    def txids(self):
        return [txid(t) for t in self.txs]


@dataclass
class MempoolEntry:
    tx: Transaction
    txid: str
    wtxid: str
    fee: int
    vsize: int
    weight: int
    time: int
    height: int
    unbroadcast: bool = True
    spent_coins: list = field(default_factory=list)


class Reject(Exception):
    """A transaction refused by the mempool.

    ``reason`` is testmempoolaccept's reject-reason, ``details`` its reject-details (or None),
    ``code``/``message`` what sendrawtransaction raises.
    """

    def __init__(self, reason, code=-26, details=None, message=None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.details = details
        self.message = message or details or reason


def merkle_root(hashes: list[bytes]) -> bytes:
    level = list(hashes)
    if not level:
        return b"\x00" * 32
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def header_bytes(version, prev, merkle, ntime, bits, nonce) -> bytes:
    return (
        version.to_bytes(4, "little")
        + bytes.fromhex(prev or "00" * 32)[::-1]
        + bytes.fromhex(merkle)[::-1]
        + ntime.to_bytes(4, "little")
        + bits.to_bytes(4, "little")
        + nonce.to_bytes(4, "little")
    )


def dust_threshold(script: bytes) -> int:
    if script[:1] == b"\x6a":
        return 0
    size = 8 + 1 + len(script)
    is_witness = len(script) >= 4 and (script[0] == 0 or 0x51 <= script[0] <= 0x60) \
        and script[1] == len(script) - 2
    size += (32 + 4 + 1 + 107 // 4 + 4) if is_witness else (32 + 4 + 1 + 107 + 4)
    return fee_for(DUST_RELAY_FEERATE, size)


class Chain:
    def __init__(self, clock=time.time):
        self.lock = threading.RLock()
        self.clock = clock
        self.start_time = int(clock())
        self.blocks: dict[str, Block] = {}
        self.children: dict[str, list[str]] = {}
        self.active: list[str] = []
        self.utxo: dict[tuple[str, int], Coin] = {}
        self.undo: dict[str, list] = {}
        self.txindex: dict[str, str] = {}
        self.mempool: dict[str, MempoolEntry] = {}
        self.spenders: dict[tuple[str, int], str] = {}
        self._seq = 0
        self.listeners = []  # callables(event, data) for wallets
        self._add_genesis()

    # --- basic accessors ------------------------------------------------------------------

    @property
    def height(self) -> int:
        return len(self.active) - 1

    @property
    def tip(self) -> Block:
        return self.blocks[self.active[-1]]

    def in_active_chain(self, block_hash: str) -> bool:
        block = self.blocks.get(block_hash)
        return block is not None and block.height < len(self.active) \
            and self.active[block.height] == block_hash

    def confirmations(self, block_hash: str) -> int:
        if not self.in_active_chain(block_hash):
            return -1
        return self.height - self.blocks[block_hash].height + 1

    def median_time_past(self, block: Block) -> int:
        times = []
        cur = block
        for _ in range(11):
            times.append(cur.time)
            if cur.prev is None:
                break
            cur = self.blocks[cur.prev]
        return sorted(times)[len(times) // 2]

    def now(self) -> int:
        return int(self.clock())

    def find_tx_block(self, tx_id: str):
        """(tx, block_hash) from the txindex (may point at a stale block), or (None, None)."""
        block_hash = self.txindex.get(tx_id)
        if block_hash is None:
            return None, None
        for tx in self.blocks[block_hash].txs:
            if txid(tx) == tx_id:
                return tx, block_hash
        return None, None

    def get_coin(self, outpoint, include_mempool=True):
        """An unspent output; with include_mempool, mempool outputs count and mempool spends
        hide."""
        if include_mempool:
            if outpoint in self.spenders:
                return None
            entry = self.mempool.get(outpoint[0])
            if entry is not None:
                if outpoint[1] < len(entry.tx.vout):
                    out = entry.tx.vout[outpoint[1]]
                    return Coin(out.value, out.script_pubkey.data, MEMPOOL_HEIGHT)
                return None
        return self.utxo.get(outpoint)

    # --- blocks ---------------------------------------------------------------------------

    def _add_genesis(self):
        tx = parse_tx(GENESIS_COINBASE)
        merkle = merkle_root([bytes.fromhex(txid(tx))[::-1]])[::-1].hex()
        block = self._make_block(None, 0, [tx], merkle, GENESIS_TIME, nonce=2, version=1)
        self.blocks[block.hash] = block
        self.children[block.hash] = []
        self.active = [block.hash]
        self.undo[block.hash] = []  # the genesis output is not spendable

    def _make_block(self, prev, height, txs, merkle, ntime, nonce=0, version=BLOCK_VERSION):
        while True:
            header = header_bytes(version, prev, merkle, ntime, REGTEST_BITS, nonce)
            digest = sha256d(header)
            if int.from_bytes(digest, "little") <= REGTEST_TARGET:
                break
            nonce += 1
        raw = header + bytes([len(txs)]) if len(txs) < 0xFD else None
        if raw is None:
            from embit import compact

            raw = header + compact.to_bytes(len(txs))
        raw += b"".join(serialize(t) for t in txs)
        parent_work = self.blocks[prev].chainwork if prev else 0
        self._seq += 1
        return Block(
            hash=digest[::-1].hex(), version=version, prev=prev, merkle=merkle, time=ntime,
            bits=REGTEST_BITS, nonce=nonce, height=height, txs=txs,
            chainwork=parent_work + WORK_PER_BLOCK, seq=self._seq, header_hex=header.hex(),
            raw_hex=raw.hex(),
        )

    def _coinbase(self, height, script: bytes, value: int, witness_root: bytes, extra=0):
        height_push = _script_num_push(height)
        script_sig = height_push + (b"\x00" if not extra else _script_num_push(extra))
        inp = TransactionInput(b"\x00" * 32, 0xFFFFFFFF, Script(script_sig), 0xFFFFFFFE)
        from embit.script import Witness

        reserved = b"\x00" * 32
        inp.witness = Witness([reserved])
        commitment = sha256d(witness_root + reserved)
        outs = [
            TransactionOutput(value, Script(script)),
            TransactionOutput(0, Script(b"\x6a\x24" + WITNESS_COMMITMENT_HEADER + commitment)),
        ]
        return Transaction(version=2, vin=[inp], vout=outs, locktime=height - 1)

    def mine_block(self, script: bytes, txs=None, check=True, claim_fees=True):
        """Mine one block on the active tip paying ``script``.

        ``txs`` None means: take the whole mempool. Returns the new block hash. Raises Reject
        when an explicit tx does not fit (generateblock's "TestBlockValidity failed").
        ``claim_fees`` False: the coinbase pays the subsidy only, as Core's generateblock
        does (it builds the coinbase for an empty block, then adds the given txs).
        """
        parent = self.tip
        height = parent.height + 1
        if txs is None:
            txs = self._mempool_in_order()
        fees = 0
        view = {}
        for tx in txs:
            fees += self._check_block_tx(tx, view, height, verify_scripts=check)
        value = block_subsidy(height) + (fees if claim_fees else 0)
        wtxids = [b"\x00" * 32] + [bytes.fromhex(wtxid(t))[::-1] for t in txs]
        witness_root = merkle_root(wtxids)
        ntime = max(self.now(), self.median_time_past(parent) + 1)
        extra = 0
        while True:
            coinbase = self._coinbase(height, script, value, witness_root, extra)
            all_txs = [coinbase] + list(txs)
            merkle = merkle_root([bytes.fromhex(txid(t))[::-1] for t in all_txs])[::-1].hex()
            block = self._make_block(parent.hash, height, all_txs, merkle, ntime)
            if block.hash not in self.blocks:
                break
            extra += 1
        self.blocks[block.hash] = block
        self.children.setdefault(block.hash, [])
        self.children.setdefault(parent.hash, []).append(block.hash)
        self.activate_best_chain()
        return block.hash

    def _check_block_tx(self, tx, view, height, verify_scripts=True):
        """Validate a tx against the UTXO set plus earlier txs of the same block; returns fee."""
        tid = txid(tx)
        value_in = 0
        scripts, values = [], []
        for inp in tx.vin:
            outpoint = (inp.txid.hex(), inp.vout)
            coin = view.get(outpoint, self.utxo.get(outpoint))
            if coin is None or coin == "spent":
                raise Reject("bad-txns-inputs-missingorspent", -25)
            if coin.coinbase and height - coin.height < COINBASE_MATURITY:
                raise Reject("bad-txns-premature-spend-of-coinbase")
            view[outpoint] = "spent"
            value_in += coin.value
            scripts.append(coin.script)
            values.append(coin.value)
        value_out = sum(o.value for o in tx.vout)
        if value_in < value_out:
            raise Reject("bad-txns-in-belowout")
        if verify_scripts:
            for i in range(len(tx.vin)):
                try:
                    verify_input(tx, i, scripts, values)
                except ScriptError as exc:
                    raise Reject(f"block-script-verify-flag-failed ({exc})") from exc
        for n, out in enumerate(tx.vout):
            view[(tid, n)] = Coin(out.value, out.script_pubkey.data, height)
        return value_in - value_out

    def _connect(self, block: Block):
        """Apply a block to the UTXO set; Reject (state unchanged) when an input is missing."""
        spent = []
        created = []
        try:
            for tx in block.txs:
                tid = txid(tx)
                if not is_coinbase(tx):
                    for inp in tx.vin:
                        outpoint = (inp.txid.hex(), inp.vout)
                        coin = self.utxo.pop(outpoint, None)
                        if coin is None:
                            raise Reject("bad-txns-inputs-missingorspent", -25)
                        spent.append((outpoint, coin))
                if block.height > 0:
                    for n, out in enumerate(tx.vout):
                        if out.script_pubkey.data[:1] == b"\x6a":
                            continue
                        outpoint = (tid, n)
                        self.utxo[outpoint] = Coin(out.value, out.script_pubkey.data,
                                                   block.height, is_coinbase(tx))
                        created.append(outpoint)
        except Reject:
            for outpoint in created:
                self.utxo.pop(outpoint, None)
            for outpoint, coin in spent:
                self.utxo[outpoint] = coin
            raise
        self.undo[block.hash] = spent
        for tx in block.txs:
            self.txindex[txid(tx)] = block.hash
        self.active.append(block.hash)

    def _disconnect_tip(self):
        block = self.tip
        for tx in block.txs:
            tid = txid(tx)
            for n in range(len(tx.vout)):
                self.utxo.pop((tid, n), None)
        for outpoint, coin in self.undo.pop(block.hash, []):
            self.utxo[outpoint] = coin
        self.active.pop()
        return block

    def _has_failed_ancestor(self, block: Block) -> bool:
        cur = block
        while cur is not None:
            if cur.failed:
                return True
            cur = self.blocks.get(cur.prev) if cur.prev else None
        return False

    def _best_candidate(self) -> Block:
        """Most work wins; on equal work the current tip, then the block received first."""
        tip_hash = self.tip.hash
        best, best_key = None, None
        for block in self.blocks.values():
            if self._has_failed_ancestor(block):
                continue
            key = (block.chainwork, block.hash == tip_hash, -block.seq)
            if best_key is None or key > best_key:
                best, best_key = block, key
        return best

    def activate_best_chain(self):
        """Switch to the most-work valid chain, moving txs between blocks and the mempool."""
        disconnected = []
        while True:
            best = self._best_candidate()
            if best.hash == self.tip.hash:
                break
            path = []
            cur = best
            while not self.in_active_chain(cur.hash):
                path.append(cur)
                cur = self.blocks[cur.prev]
            fork_height = cur.height
            while self.height > fork_height:
                disconnected.append(self._disconnect_tip())
            failed = False
            for block in reversed(path):
                try:
                    self._connect(block)
                except Reject:
                    block.failed = True
                    failed = True
                    break
                self._remove_for_block(block)
            if not failed:
                break
        if disconnected:
            self._readd_disconnected(disconnected)
        self._notify("tip", self.tip.hash)

    # --- invalidate / reconsider ----------------------------------------------------------

    def invalidate_block(self, block_hash: str):
        block = self.blocks[block_hash]
        if block.height == 0:
            raise Reject("genesis", -8)
        disconnected = []
        if self.in_active_chain(block_hash):
            while self.height >= block.height:
                disconnected.append(self._disconnect_tip())
        block.failed = True
        if disconnected:
            self._readd_disconnected(disconnected)
        self.activate_best_chain()

    def reconsider_block(self, block_hash: str):
        block = self.blocks[block_hash]
        stack = [block_hash]
        while stack:
            cur = stack.pop()
            self.blocks[cur].failed = False
            stack.extend(self.children.get(cur, []))
        cur = block
        while cur.prev:
            cur.failed = False
            cur = self.blocks[cur.prev]
        self.activate_best_chain()

    def chain_tips(self):
        """Core's getchaintips: every block without children, plus the active tip (which has
        children when the block above it was invalidated)."""
        tips = []
        for block in self.blocks.values():
            if self.children.get(block.hash) and block.hash != self.tip.hash:
                continue
            if block.hash == self.tip.hash:
                status, branchlen = "active", 0
            else:
                fork = block
                while not self.in_active_chain(fork.hash):
                    fork = self.blocks[fork.prev]
                branchlen = block.height - fork.height
                status = "invalid" if self._has_failed_ancestor(block) else "valid-fork"
            tips.append({"height": block.height, "hash": block.hash, "branchlen": branchlen,
                         "status": status})
        tips.sort(key=lambda t: (-t["height"], t["branchlen"]))
        return tips

    # --- mempool --------------------------------------------------------------------------

    def _mempool_in_order(self):
        ordered, seen = [], set()

        def visit(entry):
            if entry.txid in seen:
                return
            seen.add(entry.txid)
            for inp in entry.tx.vin:
                parent = self.mempool.get(inp.txid.hex())
                if parent is not None:
                    visit(parent)
            ordered.append(entry.tx)

        for entry in sorted(self.mempool.values(), key=lambda e: e.time):
            visit(entry)
        return ordered

    def _remove_entry(self, tid: str, recursive=True):
        entry = self.mempool.pop(tid, None)
        if entry is None:
            return
        for inp in entry.tx.vin:
            outpoint = (inp.txid.hex(), inp.vout)
            if self.spenders.get(outpoint) == tid:
                del self.spenders[outpoint]
        if recursive:
            for n in range(len(entry.tx.vout)):
                child = self.spenders.get((tid, n))
                if child is not None:
                    self._remove_entry(child)
        self._notify("mempool-remove", tid)

    def _remove_for_block(self, block: Block):
        for tx in block.txs[1:]:
            tid = txid(tx)
            if tid in self.mempool:
                self._remove_entry(tid, recursive=False)
            for inp in tx.vin:
                conflict = self.spenders.get((inp.txid.hex(), inp.vout))
                if conflict is not None:
                    self._remove_entry(conflict)

    def _readd_disconnected(self, disconnected):
        """Return non-coinbase txs of disconnected blocks to the mempool when still valid."""
        for block in reversed(disconnected):
            for tx in block.txs[1:]:
                if txid(tx) in self.mempool:
                    continue
                try:
                    self.accept(tx, bypass_limits=True, unbroadcast=False)
                except Reject:
                    pass
        # drop mempool txs whose inputs no longer exist
        changed = True
        while changed:
            changed = False
            for tid, entry in list(self.mempool.items()):
                for inp in entry.tx.vin:
                    outpoint = (inp.txid.hex(), inp.vout)
                    if outpoint not in self.utxo and outpoint[0] not in self.mempool:
                        self._remove_entry(tid)
                        changed = True
                        break
                    coin = self.utxo.get(outpoint)
                    if coin is not None and coin.coinbase \
                            and self.height + 1 - coin.height < COINBASE_MATURITY:
                        self._remove_entry(tid)
                        changed = True
                        break

    def accept(self, tx, test_only=False, bypass_limits=False, max_feerate=None,
               unbroadcast=True):
        """AcceptToMemoryPool. Returns the MempoolEntry (not added when test_only)."""
        tid, wid = txid(tx), wtxid(tx)
        if is_coinbase(tx):
            raise Reject("coinbase")
        if not tx.vout:
            raise Reject("bad-txns-vout-empty", details="bad-txns-vout-empty")
        if any(out.value > MAX_MONEY for out in tx.vout) or \
                sum(out.value for out in tx.vout) > MAX_MONEY:
            raise Reject("bad-txns-vout-toolarge")
        if tid in self.mempool:
            raise Reject("txn-already-in-mempool", -27)
        size = vsize(tx)
        # conflicts with mempool txs (full RBF: signalling is not required)
        conflicts = set()
        for inp in tx.vin:
            spender = self.spenders.get((inp.txid.hex(), inp.vout))
            if spender is not None:
                conflicts.add(spender)
        # inputs
        value_in = 0
        scripts, values = [], []
        next_height = self.height + 1
        for inp in tx.vin:
            outpoint = (inp.txid.hex(), inp.vout)
            coin = self.utxo.get(outpoint)
            if coin is None and outpoint[0] in self.mempool:
                parent = self.mempool[outpoint[0]].tx
                if outpoint[1] < len(parent.vout):
                    out = parent.vout[outpoint[1]]
                    coin = Coin(out.value, out.script_pubkey.data, MEMPOOL_HEIGHT)
            if coin is None:
                if any((tid, n) in self.utxo for n in range(len(tx.vout))):
                    raise Reject("txn-already-known", -27, details="txn-already-known",
                                 message="Transaction outputs already in utxo set")
                raise Reject("missing-inputs", -25, message="bad-txns-inputs-missingorspent")
            if coin.coinbase and next_height - coin.height < COINBASE_MATURITY:
                depth = next_height - coin.height
                detail = f"tried to spend coinbase at depth {depth}"
                raise Reject("bad-txns-premature-spend-of-coinbase",
                             details=f"bad-txns-premature-spend-of-coinbase, {detail}")
            value_in += coin.value
            scripts.append(coin.script)
            values.append(coin.value)
        value_out = sum(o.value for o in tx.vout)
        if value_in < value_out:
            detail = f"value in ({format_money(value_in)}) < value out ({format_money(value_out)})"
            raise Reject("bad-txns-in-belowout", details=f"bad-txns-in-belowout, {detail}")
        fee = value_in - value_out
        if not bypass_limits:
            min_fee = fee_for(MIN_RELAY_FEERATE, size)
            if fee < min_fee:
                raise Reject("min relay fee not met",
                             details=f"min relay fee not met, {fee} < {min_fee}")
            if fee > 0 and any(out.value < dust_threshold(out.script_pubkey.data)
                               for out in tx.vout):
                raise Reject("dust", details="dust, tx with dust output must be 0-fee")
        if conflicts:
            self._replacement_checks(tid, fee, size, conflicts)
        for i in range(len(tx.vin)):
            try:
                verify_input(tx, i, scripts, values)
            except ScriptError as exc:
                reason = f"mempool-script-verify-flag-failed ({exc})"
                inp = tx.vin[i]
                details = (f"{reason}, input {i} of {tid} (wtxid {wid}), "
                           f"spending {inp.txid.hex()}:{inp.vout}")
                raise Reject(reason, details=details) from exc
        if max_feerate is not None and max_feerate > 0 and fee > fee_for(max_feerate, size):
            raise Reject("max-fee-exceeded", -25,
                         message="Fee exceeds maximum configured by user "
                                 "(e.g. -maxtxfee, maxfeerate)")
        entry = MempoolEntry(tx=tx, txid=tid, wtxid=wid, fee=fee, vsize=size, weight=weight(tx),
                             time=self.now(), height=self.height, unbroadcast=unbroadcast)
        if test_only:
            return entry
        for conflict in conflicts:
            self._remove_entry(conflict)
        self.mempool[tid] = entry
        for inp in tx.vin:
            self.spenders[(inp.txid.hex(), inp.vout)] = tid
        self._notify("mempool-add", tid)
        return entry

    def _replacement_checks(self, tid, fee, size, conflicts):
        all_conflicts = set()
        stack = list(conflicts)
        while stack:
            cur = stack.pop()
            if cur in all_conflicts:
                continue
            all_conflicts.add(cur)
            entry = self.mempool[cur]
            for n in range(len(entry.tx.vout)):
                child = self.spenders.get((cur, n))
                if child:
                    stack.append(child)
        new_rate = fee * 1000 // size
        for conflict in conflicts:
            entry = self.mempool[conflict]
            old_rate = entry.fee * 1000 // entry.vsize
            if new_rate <= old_rate:
                text = (f"rejecting replacement {tid}; new feerate {format_feerate(new_rate)} "
                        f"<= old feerate {format_feerate(old_rate)}")
                raise Reject("insufficient fee", details=f"insufficient fee, {text}")
        old_fees = sum(self.mempool[c].fee for c in all_conflicts)
        if fee < old_fees:
            text = (f"rejecting replacement {tid}, less fees than conflicting txs; "
                    f"{format_money(fee)} < {format_money(old_fees)}")
            raise Reject("insufficient fee", details=f"insufficient fee, {text}")
        needed = fee_for(INCREMENTAL_RELAY_FEERATE, size)
        if fee - old_fees < needed:
            text = (f"rejecting replacement {tid}, not enough additional fees to relay; "
                    f"{format_money(fee - old_fees)} < {format_money(needed)}")
            raise Reject("insufficient fee", details=f"insufficient fee, {text}")

    def ancestors(self, tid: str) -> set:
        result, stack = set(), [tid]
        while stack:
            entry = self.mempool[stack.pop()]
            for inp in entry.tx.vin:
                parent = inp.txid.hex()
                if parent in self.mempool and parent not in result:
                    result.add(parent)
                    stack.append(parent)
        return result

    def descendants(self, tid: str) -> set:
        result, stack = set(), [tid]
        while stack:
            cur = stack.pop()
            entry = self.mempool[cur]
            for n in range(len(entry.tx.vout)):
                child = self.spenders.get((cur, n))
                if child and child not in result:
                    result.add(child)
                    stack.append(child)
        return result

    def prevout_coin(self, outpoint):
        """The coin an input spent, looked up in the UTXO set, mempool or txindex."""
        coin = self.utxo.get(outpoint)
        if coin is not None:
            return coin
        entry = self.mempool.get(outpoint[0])
        if entry is not None and outpoint[1] < len(entry.tx.vout):
            out = entry.tx.vout[outpoint[1]]
            return Coin(out.value, out.script_pubkey.data, MEMPOOL_HEIGHT)
        tx, block_hash = self.find_tx_block(outpoint[0])
        if tx is not None and outpoint[1] < len(tx.vout):
            out = tx.vout[outpoint[1]]
            return Coin(out.value, out.script_pubkey.data, self.blocks[block_hash].height,
                        is_coinbase(tx))
        return None

    def _notify(self, event, data):
        for listener in self.listeners:
            listener(event, data)

    def signals_rbf(self, tid):
        entry = self.mempool[tid]
        if signals_rbf(entry.tx):
            return True
        return any(self.signals_rbf(a) for a in self.ancestors(tid))


def _script_num_push(n: int) -> bytes:
    if n == 0:
        return b"\x00"
    if 1 <= n <= 16:
        return bytes([0x50 + n])
    data = bytearray()
    value = n
    while value:
        data.append(value & 0xFF)
        value >>= 8
    if data[-1] & 0x80:
        data.append(0)
    return bytes([len(data)]) + bytes(data)
