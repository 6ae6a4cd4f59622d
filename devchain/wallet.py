"""A minimal descriptor wallet: the funding ("miner") wallet and watch-only wallets.

A wallet with keys holds a BIP32 seed: receive addresses are BIP84 P2WPKH
(``wpkh(.../84h/1h/0h/0/*)``), change goes to BIP86 P2TR (``tr(.../86h/1h/0h/1/*)``) as Core
v30 does. A watch-only wallet only knows scripts imported from descriptors.

NOT FOR REAL FUNDS: the seed is derived from the wallet name (``sha256("devchain regtest
wallet seed/" + name)``), so anyone who knows the name knows the keys. That makes every run of
the development chain reproducible (same addresses, same signatures); it is only acceptable
because these are throwaway regtest keys.

Coin selection is deterministic too: confirmed coins oldest first (block height, then txid and
output index), added until the payment plus fee is covered. Core picks at random among coins
with equal waste, so the chosen inputs (and the change position, which Core also randomises)
can differ from what Core would pick; tests may pin both (``forced_inputs``,
``forced_change_position``).
"""

import hashlib
import re

from embit import bip32
from embit.descriptor import Descriptor
from embit.descriptor.checksum import add_checksum
from embit.script import Script, Witness, p2tr, p2wpkh
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from .chain import MEMPOOL_HEIGHT, Chain, fee_for
from .network import COINBASE_MATURITY, REGTEST, script_from_address
from .tx import is_coinbase, signals_rbf, txid, vsize, wtxid

FALLBACK_FEERATE = 10_000  # sat/kvB, like -fallbackfee=0.0001
TIMESTAMP_WINDOW = 2 * 60 * 60  # Core rescans from this long before an import's timestamp


class WalletError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Wallet:
    def __init__(self, chain: Chain, name: str, disable_private_keys=False, blank=False):
        self.chain = chain
        self.name = name
        self.private_keys_enabled = not disable_private_keys
        self.blank = blank
        self.birth_time = chain.now()
        self.scripts: dict[bytes, dict] = {}  # script -> {"desc", "parent", "change", "key"}
        self.descriptors: list[dict] = []
        self.txs: dict[str, dict] = {}  # txid -> {"tx", "time"}
        self.next_index = {"receive": 0, "change": 0}
        self.labels: dict[bytes, str] = {}
        # Core picks the change position and equal-waste coins at random; the devchain is
        # deterministic (see _change_position) and tests may pin both for the
        # next send. Each is consumed by one send.
        self.forced_change_position = None
        self.forced_inputs = None  # list of (txid, vout) or None
        if self.private_keys_enabled and not blank:
            seed = wallet_seed(name)
            self.root = bip32.HDKey.from_seed(seed, version=REGTEST["xprv"])
            fingerprint = self.root.child(0).fingerprint.hex()
            self.accounts = {}
            for kind, purpose, branch, template in (
                ("receive", 84, 0, "wpkh"), ("change", 86, 1, "tr"),
            ):
                account = self.root.derive(f"m/{purpose}h/1h/0h")
                tpub = account.to_public().to_base58(version=REGTEST["xpub"])
                origin = f"[{fingerprint}/{purpose}h/1h/0h]"
                desc = add_checksum(f"{template}({origin}{tpub}/{branch}/*)")
                self.accounts[kind] = (account.child(branch), template, desc)
                self.descriptors.append({"desc": desc, "internal": kind == "change"})
        else:
            self.root = None
            self.accounts = {}

    # --- keys and scripts -----------------------------------------------------------------

    def _derive(self, kind: str):
        branch, template, desc = self.accounts[kind]
        index = self.next_index[kind]
        self.next_index[kind] += 1
        key = branch.child(index).key
        script = p2wpkh(key.get_public_key()) if template == "wpkh" else p2tr(key.get_public_key())
        self.scripts[script.data] = {"parent": desc, "change": kind == "change", "key": key,
                                     "desc": add_checksum(derived_descriptor(desc, index)),
                                     "witness_script": None}
        return script.data

    def get_new_address(self, label="") -> bytes:
        if not self.private_keys_enabled:
            raise WalletError(-4, "Error: This wallet has no available keys")
        script = self._derive("receive")
        self.labels[script] = label
        return script

    def import_descriptor(self, desc_text: str, range_end: int = 0, label=None,
                          timestamp=None):
        """Import one descriptor, then rescan as Core does from ``timestamp`` (None: from
        genesis). Like Core, a non-ranged descriptor's scripts get an address book entry
        (label "" unless given), which is what makes them "not change"."""
        body = desc_text.split("#")[0]
        full = add_checksum(body)
        if body.startswith(("addr(", "raw(")) and body.endswith(")"):
            inner = body[body.index("(") + 1:-1]
            script = script_from_address(inner) if body.startswith("addr(") else \
                bytes.fromhex(inner)
            if script is None:
                raise WalletError(-5, "Address is not valid")
            self.scripts.setdefault(script, {"parent": full, "change": False, "key": None})
            self.labels[script] = label or ""
            self.descriptors.append({"desc": full, "internal": False})
            self.rescan(timestamp)
            return
        desc = Descriptor.from_string(body)
        children = [(desc.derive(i), i) for i in range(range_end + 1)] if desc.is_wildcard \
            else [(desc, None)]
        for child, index in children:
            script = child.script_pubkey().data
            info = {"parent": full, "change": False, "key": None,
                    "desc": add_checksum(derived_descriptor(body, index)),
                    "witness_script": child.witness_script().data if body.startswith("wsh(")
                    else None}
            self.scripts.setdefault(script, info)
            if label is not None or not desc.is_wildcard:
                self.labels[script] = label or ""
        self.descriptors.append({"desc": full, "internal": False})
        self.rescan(timestamp)

    def is_mine(self, script: bytes) -> bool:
        return script in self.scripts

    # --- transaction tracking -------------------------------------------------------------

    def _relevant(self, tx) -> bool:
        if any(self.is_mine(o.script_pubkey.data) for o in tx.vout):
            return True
        return any(self._input_coin(inp) is not None for inp in tx.vin) and not is_coinbase(tx)

    def _input_coin(self, inp):
        """The wallet's own output an input spends (value, script), or None."""
        parent = self.txs.get(inp.txid.hex())
        if parent is None or inp.vout >= len(parent["tx"].vout):
            return None
        out = parent["tx"].vout[inp.vout]
        if not self.is_mine(out.script_pubkey.data):
            return None
        return out.value, out.script_pubkey.data

    def add_tx(self, tx, when=None):
        tid = txid(tx)
        if tid in self.txs:
            return
        if self._relevant(tx):
            self.txs[tid] = {"tx": tx, "time": when or self.chain.now(), "order": len(self.txs)}

    def rescan(self, timestamp=None):
        """Pick up the relevant txs of the active chain and the mempool, as Core's rescan
        after an import: from the first block whose time is at least the import's timestamp
        (capped at the tip's time) less two hours; stale branches are not rescanned."""
        chain = self.chain
        start = 0
        if timestamp is not None:
            since = min(timestamp, chain.tip.time) - TIMESTAMP_WINDOW
            start = next((h for h, block_hash in enumerate(chain.active)
                          if chain.blocks[block_hash].time >= since), len(chain.active))
        for block_hash in chain.active[start:]:
            block = chain.blocks[block_hash]
            for tx in block.txs:
                self.add_tx(tx, block.time)
        for entry in chain.mempool.values():
            self.add_tx(entry.tx, entry.time)

    def on_chain_event(self, event, data):
        if event == "mempool-add":
            self.add_tx(self.chain.mempool[data].tx)
        elif event == "tip":
            for tx in self.chain.tip.txs:
                self.add_tx(tx, self.chain.tip.time)

    # --- state of wallet txs --------------------------------------------------------------

    def tx_block(self, tid):
        block_hash = self.chain.txindex.get(tid)
        if block_hash is not None and self.chain.in_active_chain(block_hash):
            return self.chain.blocks[block_hash]
        return None

    def conflicting_in_chain(self, tx):
        """Depth of the deepest active-chain tx that spends one of tx's inputs (or None)."""
        depth = None
        for other_id, record in self.txs.items():
            if other_id == txid(tx):
                continue
            if not self._conflicts(tx, record["tx"]):
                continue
            block = self.tx_block(other_id)
            if block is not None:
                d = self.chain.height - block.height + 1
                depth = d if depth is None else max(depth, d)
        if depth is None:
            # a conflicting tx outside the wallet: look at the active chain's spends
            for inp in tx.vin:
                outpoint = (inp.txid.hex(), inp.vout)
                if outpoint in self.chain.utxo or outpoint[0] in self.chain.mempool:
                    continue
                for height in range(self.chain.height, 0, -1):
                    block = self.chain.blocks[self.chain.active[height]]
                    if any((i.txid.hex(), i.vout) == outpoint for t in block.txs[1:]
                           for i in t.vin):
                        d = self.chain.height - height + 1
                        depth = d if depth is None else max(depth, d)
                        break
        return depth

    @staticmethod
    def _conflicts(a, b) -> bool:
        if is_coinbase(a) or is_coinbase(b):  # their null prevout is no coin to fight over
            return False
        ins = {(i.txid.hex(), i.vout) for i in a.vin}
        return any((i.txid.hex(), i.vout) in ins for i in b.vin) and txid(a) != txid(b)

    def confirmations(self, tid) -> int:
        block = self.tx_block(tid)
        if block is not None:
            return self.chain.height - block.height + 1
        if tid in self.chain.mempool:
            return 0
        tx = self.txs[tid]["tx"]
        if is_coinbase(tx):
            return 0
        depth = self.conflicting_in_chain(tx)
        return -depth if depth else 0

    def is_abandoned(self, tid) -> bool:
        """Core abandons the coinbase of a block that leaves the active chain (it can never
        be relayed on its own); it is confirmed again if that block comes back."""
        return is_coinbase(self.txs[tid]["tx"]) and self.tx_block(tid) is None

    def from_me(self, tx) -> bool:
        return not is_coinbase(tx) and all(self._input_coin(i) is not None for i in tx.vin)

    def debit(self, tx) -> int:
        return sum(c[0] for c in (self._input_coin(i) for i in tx.vin) if c is not None)

    def is_trusted(self, tid) -> bool:
        conf = self.confirmations(tid)
        if conf > 0:
            return True
        if conf < 0 or tid not in self.chain.mempool:
            return False
        tx = self.txs[tid]["tx"]
        return self.from_me(tx)

    def unspent(self, min_conf=1, include_untrusted=False):
        """[(outpoint, value, script, confirmations, tx)] of the wallet's spendable outputs."""
        spent = set()
        for tid, record in self.txs.items():
            conf = self.confirmations(tid)
            if conf < 0 or (conf == 0 and tid not in self.chain.mempool):
                continue
            for inp in record["tx"].vin:
                spent.add((inp.txid.hex(), inp.vout))
        result = []
        for tid, record in self.txs.items():
            tx = record["tx"]
            conf = self.confirmations(tid)
            if conf < 0 or (conf == 0 and tid not in self.chain.mempool):
                continue
            if conf < min_conf:
                continue
            if conf == 0 and not include_untrusted and not self.is_trusted(tid):
                continue
            if is_coinbase(tx) and conf < COINBASE_MATURITY + 1:
                continue
            for n, out in enumerate(tx.vout):
                if self.is_mine(out.script_pubkey.data) and (tid, n) not in spent:
                    result.append(((tid, n), out.value, out.script_pubkey.data, conf, tx))
        return result

    def balance(self, min_conf=0) -> int:
        return sum(u[1] for u in self.unspent(min_conf=min_conf))

    def immature_balance(self) -> int:
        total = 0
        for tid, record in self.txs.items():
            tx = record["tx"]
            if is_coinbase(tx):
                conf = self.confirmations(tid)
                if 0 < conf < COINBASE_MATURITY + 1:
                    total += sum(o.value for o in tx.vout if self.is_mine(o.script_pubkey.data))
        return total

    # --- spending -------------------------------------------------------------------------

    def send(self, script: bytes, amount: int, subtract_fee=False):
        if not self.private_keys_enabled:
            raise WalletError(-4, "Error: Private keys are disabled for this wallet")
        coins = [c for c in self.unspent(min_conf=1) if self.scripts[c[2]]["key"] is not None]
        # oldest first (most confirmations), then txid and index: reproducible between runs
        coins.sort(key=lambda u: (-u[3], u[0][0], u[0][1]))
        forced, self.forced_inputs = self.forced_inputs, None
        if forced is not None:
            by_outpoint = {c[0]: c for c in coins}
            missing = [o for o in forced if tuple(o) not in by_outpoint]
            if missing:
                raise WalletError(-4, f"devchain: pinned inputs not spendable: {missing}")
            coins = [by_outpoint[tuple(o)] for o in forced]
        selected, total = [], 0
        change_script = None
        for coin in coins:
            selected.append(coin)
            total += coin[1]
            fee = self._estimate_fee(selected, [script], with_change=True)
            if total >= amount + fee:
                break
        else:
            raise WalletError(-6, "Insufficient funds")
        change_script = self._derive("change")
        fee = self._estimate_fee(selected, [script], with_change=True)
        outputs = [TransactionOutput(amount - (fee if subtract_fee else 0), Script(script))]
        change = total - amount - (0 if subtract_fee else fee)
        if change > 0:
            position, self.forced_change_position = self.forced_change_position, None
            if position is None:
                position = _change_position(selected, script)
            outputs.insert(position, TransactionOutput(change, Script(change_script)))
        tx = Transaction(
            version=2,
            vin=[TransactionInput(bytes.fromhex(c[0][0]), c[0][1], sequence=0xFFFFFFFD)
                 for c in selected],
            vout=outputs,
            locktime=self.chain.height,
        )
        self.sign(tx, [(c[1], c[2]) for c in selected])
        return tx

    def _estimate_fee(self, coins, dest_scripts, with_change):
        dummy = Transaction(
            version=2,
            vin=[TransactionInput(bytes(32), 0, sequence=0xFFFFFFFD) for _ in coins],
            vout=[TransactionOutput(0, Script(s)) for s in dest_scripts],
        )
        if with_change:
            dummy.vout.append(TransactionOutput(0, Script(b"\x51\x20" + bytes(32))))
        for inp, coin in zip(dummy.vin, coins, strict=True):
            if coin[2][:1] == b"\x51":
                inp.witness = Witness([bytes(64)])
            else:
                inp.witness = Witness([bytes(72), bytes(33)])
        return fee_for(FALLBACK_FEERATE, vsize(dummy))

    def sign(self, tx, prevouts):
        """Sign every input whose prevout script belongs to this wallet. Returns True if all."""
        scripts = [Script(p[1]) if p else Script(b"") for p in prevouts]
        values = [p[0] if p else 0 for p in prevouts]
        complete = True
        for i, prev in enumerate(prevouts):
            info = self.scripts.get(prev[1]) if prev else None
            if info is None or info["key"] is None:
                complete = complete and bool(tx.vin[i].witness.items)
                continue
            key = info["key"]
            if prev[1][:1] == b"\x51":
                tweaked = key.taproot_tweak(b"")
                digest = tx.sighash_taproot(i, scripts, values, 0)
                tx.vin[i].witness = Witness([tweaked.schnorr_sign(digest).serialize()])
            else:
                pub = key.get_public_key()
                code = Script(b"\x76\xa9\x14" + prev[1][2:] + b"\x88\xac")
                digest = tx.sighash_segwit(i, code, prev[0], 1)
                sig = key.sign(digest).serialize() + b"\x01"
                tx.vin[i].witness = Witness([sig, pub.sec()])
        return complete

    def prevouts_for(self, tx):
        result = []
        for inp in tx.vin:
            coin = self.chain.prevout_coin((inp.txid.hex(), inp.vout))
            result.append((coin.value, coin.script) if coin else None)
        return result

    # --- helpers for RPC results ----------------------------------------------------------

    def rbf_state(self, tid):
        conf = self.confirmations(tid)
        if conf > 0:
            return "no"
        tx = self.txs[tid]["tx"]
        if signals_rbf(tx):
            return "yes"
        if tid in self.chain.mempool:
            return "yes" if self.chain.signals_rbf(tid) else "no"
        return "unknown"

    def wallet_conflicts(self, tx):
        return [other for other, rec in self.txs.items() if self._conflicts(tx, rec["tx"])]

    def mempool_conflicts(self, tx):
        tid = txid(tx)
        result = []
        for inp in tx.vin:
            spender = self.chain.spenders.get((inp.txid.hex(), inp.vout))
            if spender is not None and spender != tid and spender not in result:
                result.append(spender)
        return result


_KEY_EXPR = re.compile(r"\[([0-9a-f]{8})((?:/\d+[h']?)*)\]([tx]pub[1-9A-HJ-NP-Za-km-z]+)"
                       r"((?:/\d+)*)/\*")


def derived_descriptor(desc_text: str, index) -> str:
    """Core's descriptor of one derived script: ranged xpub keys replaced by the child pubkey
    with the full key origin (``[fp/48h/1h/0h/2h/0/5]03ab..``); x-only keys inside tr()."""
    body = desc_text.split("#")[0]
    if index is None:
        return body
    xonly = body.startswith("tr(")

    def child(match):
        fingerprint, origin, xpub, steps = match.groups()
        path = [int(p) for p in steps.split("/") if p] + [index]
        key = bip32.HDKey.from_string(xpub)
        for step in path:
            key = key.child(step)
        sec = key.key.sec()
        pub = sec[1:] if xonly else sec
        origin_path = origin + "".join(f"/{p}" for p in path)
        return f"[{fingerprint}{origin_path}]{pub.hex()}"

    return _KEY_EXPR.sub(child, body)


def wallet_seed(name: str) -> bytes:
    """The wallet's BIP32 seed: a public function of its name. Regtest only, never real funds."""
    return hashlib.sha256(b"devchain regtest wallet seed/" + name.encode()).digest()


def _change_position(selected, dest_script: bytes) -> int:
    """0 or 1, derived from the inputs and destination (Core: random; here: reproducible)."""
    data = b"".join(bytes.fromhex(c[0][0]) + c[0][1].to_bytes(4, "little") for c in selected)
    return hashlib.sha256(data + dest_script).digest()[0] % 2


__all__ = ["Wallet", "WalletError", "MEMPOOL_HEIGHT", "wtxid"]
