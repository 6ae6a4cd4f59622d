"""Replays the Bitcoin Core v30 recordings against a devchain and compares the replies.

Values that depend on random keys, times and hashes differ between the recording and the
devchain, so the replayer learns a mapping recorded-value -> live-value from parallel walks of
recorded and live replies, substitutes it into later requests, and fails when a recorded value
would have to map to two different live values. Raw transactions the recording built by hand
(bitcoinlib-signed multisig spends) are rebuilt against the live outpoints and re-signed with
the fixture keys; a recorded signature that does not verify is reproduced as a corrupted one.
"""

import base64
import json
import os
import re
from decimal import Decimal
from pathlib import Path

from embit import bip32, ec
from embit.script import Script, Witness
from embit.transaction import Transaction

from devchain.network import address_from_script, script_from_address
from devchain.tx import parse_tx, serialize, txid, wtxid


def _fixtures_dir():
    """../shared beside the checkout (as in CI), or QAZYNA_CHAIN_FIXTURES."""
    candidates = [os.environ.get("QAZYNA_CHAIN_FIXTURES", ""),
                  Path(__file__).resolve().parents[3] / "shared" / "chain-fixtures",
                  Path("/work/shared/chain-fixtures")]
    for base in candidates:
        if base and (Path(base) / "bitcoin-core-v30-regtest").is_dir():
            return Path(base) / "bitcoin-core-v30-regtest"
    raise RuntimeError("Bitcoin Core transcripts not found: put shared/ beside the checkout "
                       "or set QAZYNA_CHAIN_FIXTURES")


FIXTURES = _fixtures_dir()
ORDER = ["tx-lifecycle", "node-basics", "utxo-lookup", "rbf", "reorg", "errors", "batch",
         "http-protocol"]
RECORDED_AUTH = "u:p"

# keys whose numbers legitimately differ (clock, nonce grinding, signature length, disk usage)
VOLATILE = {"time", "mediantime", "blocktime", "timereceived", "nonce", "size_on_disk", "usage",
            "uptime", "networkhashps", "size", "weight", "strippedsize", "timestamp"}
# methods whose whole (numeric) result depends on the clock: compared by type only
VOLATILE_RESULTS = {"uptime": "uptime"}
# methods whose result arrays come from Core's unordered wallet map: compared item by item
# (listunspent's result; listsinceblock's "transactions", whose "removed" follow block order)
UNORDERED_METHODS = {"listunspent", "listsinceblock"}
# The one deliberate deviation: the devchain's user agent extends Core's with a marker
# ("/Satoshi:30.0.0/qazyna-devchain:1.0/"), so production settings can refuse to use it.
MARKED_PREFIX = {"subversion"}
HEXLIKE = re.compile(r"^[0-9a-f]{40,}$|^(bcrt1|tpub|tprv|[mn2])[0-9A-Za-z]{20,}$")


def load(name):
    return json.loads((FIXTURES / f"{name}.json").read_text(), parse_float=Decimal)


class Mismatch(AssertionError):
    pass


class Replayer:
    def __init__(self, server):
        self.server = server
        self.mapping: dict[str, str] = {}
        self.recorded_txs: dict[str, Transaction] = {}
        self.live_txs: dict[str, Transaction] = {}
        keys = load("tx-lifecycle")["keys"]
        self.accounts = [bip32.HDKey.from_string(c["account_tprv"])
                         for c in keys["multisig"]["cosigners"]]
        self.wifs = {bytes.fromhex(p["pubkey"]): ec.PrivateKey.from_wif(p["wif"])
                     for p in keys["payout_p2wpkh"]}
        # descriptors built from the fixture keys are the same on any chain: never "learned"
        self.fixed_markers = {c["master_fingerprint"] for c in keys["multisig"]["cosigners"]}
        self.multisig = {}
        for i in range(10):
            children = [acct.derive(f"m/0/{i}").key for acct in self.accounts]
            pubs = [k.get_public_key().sec() for k in children]
            script = bytes([0x52]) + b"".join(bytes([33]) + p for p in pubs) + b"\x53\xae"
            self.multisig[script] = children

    # --- substitution ---------------------------------------------------------------------

    def subst(self, value):
        if isinstance(value, str):
            if value in self.mapping:
                return self.mapping[value]
            if len(value) > 120 and re.fullmatch(r"[0-9a-f]+", value):
                try:
                    parse_tx(value)
                except ValueError:
                    return value
                return self.rebuild_tx(value)
            return self.subst_text(value)
        if isinstance(value, list):
            return [self.subst(v) for v in value]
        if isinstance(value, dict):
            return {self.subst_text(k): self.subst(v) for k, v in value.items()}
        return value

    def subst_text(self, text):
        for recorded, live in self.mapping.items():
            if len(recorded) >= 26 and recorded in text:
                text = text.replace(recorded, live)
        return text

    def learn(self, recorded, live):
        if recorded == live:
            return
        known = self.mapping.get(recorded)
        if known is not None and known != live:
            raise Mismatch(f"recorded {recorded[:80]} maps to {known[:80]} but got {live[:80]}")
        self.mapping[recorded] = live

    def index_tx_hex(self, value, table):
        if isinstance(value, str) and len(value) > 120 and re.fullmatch(r"[0-9a-f]+", value):
            try:
                tx = parse_tx(value)
            except ValueError:
                return
            table[txid(tx)] = tx
        elif isinstance(value, dict):
            for v in value.values():
                self.index_tx_hex(v, table)
        elif isinstance(value, list):
            for v in value:
                self.index_tx_hex(v, table)

    # --- rebuilding hand-made transactions ------------------------------------------------

    def live_tx(self, tid):
        if tid not in self.live_txs:
            raw = self.server.rpc("getrawtransaction", tid)
            self.live_txs[tid] = parse_tx(raw)
        return self.live_txs[tid]

    def map_script(self, script: bytes) -> bytes:
        address = address_from_script(script)
        if address is not None and address in self.mapping:
            return script_from_address(self.mapping[address])
        return script

    def rebuild_tx(self, raw):
        rec = parse_tx(raw)
        tx = parse_tx(raw)
        prevouts = []
        for inp in tx.vin:
            rec_prev_id = inp.txid.hex()
            live_prev_id = self.mapping.get(rec_prev_id, rec_prev_id)
            rec_prev = self.recorded_txs.get(rec_prev_id)
            if rec_prev is None or live_prev_id == rec_prev_id and rec_prev_id not in self.mapping:
                prevouts.append(None)
                continue
            rec_out = rec_prev.vout[inp.vout]
            live_prev = self.live_tx(live_prev_id)
            wanted = self.map_script(rec_out.script_pubkey.data)
            vout = next(n for n, o in enumerate(live_prev.vout)
                        if o.script_pubkey.data == wanted and o.value == rec_out.value)
            inp.txid = bytes.fromhex(live_prev_id)
            inp.vout = vout
            prevouts.append((rec_out.value, rec_out.script_pubkey.data))
        for out in tx.vout:
            out.script_pubkey = Script(self.map_script(out.script_pubkey.data))
        for i, prev in enumerate(prevouts):
            if prev is not None:
                self._resign(rec, tx, i, prev)
        live_hex = serialize(tx).hex()
        self.learn(raw, live_hex)
        self.learn(txid(rec), txid(tx))
        self.learn(wtxid(rec), wtxid(tx))
        self.live_txs[txid(tx)] = tx
        return live_hex

    def _resign(self, rec, tx, i, prev):
        value, spk = prev
        items = list(rec.vin[i].witness.items)
        if spk[:2] == b"\x00\x14":
            sig, pub = items
            key = self.wifs[pub]
            code = Script(b"\x76\xa9\x14" + spk[2:] + b"\x88\xac")
            digest = tx.sighash_segwit(i, code, value, sig[-1] if sig else 1)
            new = key.sign(digest).serialize() + bytes([sig[-1] if sig else 1])
            tx.vin[i].witness = Witness([new, pub])
            return
        script = items[-1]
        keys = self.multisig[script]
        code = Script(script)
        rec_digest = rec.sighash_segwit(i, code, value, 1)
        tx_digest = tx.sighash_segwit(i, code, value, 1)
        new_items = [items[0]]
        used = 0
        for sig in items[1:-1]:
            if not sig:
                new_items.append(b"")
                continue
            signer = None
            for k_index, key in enumerate(keys):
                try:
                    ok = key.get_public_key().verify(ec.Signature.parse(sig[:-1]), rec_digest)
                except Exception:
                    ok = False
                if ok:
                    signer = k_index
                    break
            if signer is not None:
                new_items.append(keys[signer].sign(tx_digest).serialize() + sig[-1:])
                used = signer + 1
            else:  # corrupted in the recording: reproduce a corrupted signature
                good = bytearray(keys[min(used, 2)].sign(tx_digest).serialize())
                good[10] ^= 0x01
                new_items.append(bytes(good) + sig[-1:])
        new_items.append(script)
        tx.vin[i].witness = Witness(new_items)

    # --- comparing ------------------------------------------------------------------------

    def compare(self, recorded, live, path="result", key=None):
        if isinstance(recorded, dict):
            if not isinstance(live, dict):
                raise Mismatch(f"{path}: expected object, got {type(live).__name__}")
            recorded = {self.mapping.get(k, k): v for k, v in recorded.items()}
            if set(recorded) != set(live):
                missing = sorted(set(recorded) - set(live))
                extra = sorted(set(live) - set(recorded))
                raise Mismatch(f"{path}: keys differ, missing {missing}, extra {extra}")
            for k in recorded:
                self.compare(recorded[k], live[self.mapping.get(k, k)] if k not in live
                             else live[k], f"{path}.{k}", k)
            return
        if isinstance(recorded, list):
            if not isinstance(live, list):
                raise Mismatch(f"{path}: expected array, got {type(live).__name__}")
            if len(recorded) != len(live):
                raise Mismatch(f"{path}: expected {len(recorded)} items, got {len(live)}")
            for n, (r, v) in enumerate(zip(recorded, live, strict=True)):
                self.compare(r, v, f"{path}[{n}]", key)
            return
        if isinstance(recorded, bool) or recorded is None:
            if recorded != live:
                raise Mismatch(f"{path}: expected {recorded!r}, got {live!r}")
            return
        if isinstance(recorded, (int, Decimal)):
            if isinstance(live, bool) or not isinstance(live, (int, Decimal)):
                raise Mismatch(f"{path}: expected number, got {live!r}")
            if isinstance(recorded, Decimal) and recorded.as_tuple().exponent == -8:
                if not isinstance(live, Decimal) or live.as_tuple().exponent != -8:
                    raise Mismatch(f"{path}: amount must have 8 decimals, got {live}")
            if key in VOLATILE:
                return
            if recorded != live:
                raise Mismatch(f"{path}: expected {recorded}, got {live}")
            return
        if isinstance(recorded, str):
            if not isinstance(live, str):
                raise Mismatch(f"{path}: expected string, got {live!r}")
            if recorded == live:
                return
            if key in MARKED_PREFIX and live.startswith(recorded) and "devchain" in live:
                return
            expected = self.subst_text(recorded) if recorded not in self.mapping else \
                self.mapping[recorded]
            if expected == live:
                return
            if recorded in self.mapping:
                raise Mismatch(f"{path}: expected {expected[:100]}, got {live[:100]}")
            fixed = any(marker in recorded for marker in self.fixed_markers)
            if not fixed and (HEXLIKE.match(recorded) or "(" in recorded or "#" in recorded
                              or key == "asm"):
                self.learn(recorded, live)
                return
            raise Mismatch(f"{path}: expected {recorded!r}, got {live!r}")
        raise Mismatch(f"{path}: unexpected recorded value {recorded!r}")

    # --- one call -------------------------------------------------------------------------

    def replay(self, call):
        self.index_tx_hex(call.get("response"), self.recorded_txs)
        self._pin_wallet_choices(call)
        if "request_text" in call and call.get("request") is None:
            body = (call["request_text"] or "").encode()
        else:
            request = self.subst(call["request"])
            body = json.dumps(request, default=_decimal).encode()
        auth = call.get("auth")
        if auth is None:
            auth_text = None
        elif auth == "none":
            auth_text = ""
        elif auth.startswith("Basic "):
            user, _, password = auth[6:].partition(":")
            user = self.server.rpcuser if user == "u" else user + "x"
            password = self.server.rpcpassword if password == "p" else password + "x"
            auth_text = f"{user}:{password}"
        else:
            auth_text = auth
        status, headers, raw = self._post(body, call["path"], auth_text,
                                          call.get("http_method", "POST"))
        if status != call["http_status"]:
            raise Mismatch(f"HTTP status {status}, expected {call['http_status']}: {raw[:300]}")
        if call.get("content_type") and headers.get("Content-Type") != call["content_type"]:
            raise Mismatch(f"content type {headers.get('Content-Type')!r}")
        if call.get("www_authenticate") and \
                headers.get("WWW-Authenticate") != call["www_authenticate"]:
            raise Mismatch(f"WWW-Authenticate {headers.get('WWW-Authenticate')!r}")
        if call.get("response") is None:
            if raw.decode() != (call.get("response_text") or ""):
                raise Mismatch(f"body {raw[:200]!r}, expected {call.get('response_text')!r}")
            return None
        live = json.loads(raw.decode(), parse_float=Decimal)
        method = call["request"].get("method") if isinstance(call.get("request"), dict) else None
        if method in UNORDERED_METHODS:
            live = self.sort_like_recording(method, call["response"], live)
        self.compare_reply(call["response"], live, VOLATILE_RESULTS.get(method))
        self.index_tx_hex(live, self.live_txs)
        return live

    def _pin_wallet_choices(self, call):
        """Pin the two random choices Core's wallet made for a recorded send.

        Core shuffles equal-waste coins and places change at a random output index; the
        devchain's own choice is deterministic but different, so for a recorded
        sendtoaddress the replay tells the wallet which coins Core spent (mapped to the live
        chain) and where Core put the change. Everything else about the tx is the devchain's.
        """
        request = call.get("request")
        if not isinstance(request, dict) or request.get("method") != "sendtoaddress":
            return
        wallet = self.server.node.wallets.get(call["path"].rpartition("/")[2])
        recorded = ALL_RECORDED_TXS.get((call.get("response") or {}).get("result") or "")
        if wallet is None or recorded is None:
            return
        rec_dest = script_from_address(request["params"][0])
        positions = [n for n, o in enumerate(recorded.vout) if o.script_pubkey.data != rec_dest]
        wallet.forced_change_position = positions[0] if positions else None
        wallet.forced_inputs = [self.live_outpoint(i.txid.hex(), i.vout) for i in recorded.vin]

    def live_outpoint(self, rec_txid, vout):
        """The live outpoint for a recorded one: a mapped tx, or a recorded coinbase."""
        if rec_txid in self.mapping:
            live_id = self.mapping[rec_txid]
            rec_tx = self.recorded_txs.get(rec_txid) or ALL_RECORDED_TXS.get(rec_txid)
            if rec_tx is None:
                return live_id, vout
            rec_out = rec_tx.vout[vout]
            wanted = self.map_script(rec_out.script_pubkey.data)
            live = self.live_tx(live_id)
            n = next(n for n, o in enumerate(live.vout)
                     if o.script_pubkey.data == wanted and o.value == rec_out.value)
            return live_id, n
        height = RECORDED_COINBASE_HEIGHTS.get(rec_txid)
        if height is None:
            raise Mismatch(f"recorded input {rec_txid}:{vout} is neither mapped nor a coinbase")
        block = self.server.rpc("getblock", self.server.rpc("getblockhash", height))
        live_id = block["tx"][0]
        self.learn(rec_txid, live_id)
        return live_id, vout

    def sort_like_recording(self, method, recorded, live):
        """Put the live array in the recording's order (Core's order is a hash-map order).

        Items are matched by their identity (mapped txid and vout); a recorded item without a
        live counterpart leaves the live order alone so the comparison reports it.
        """
        recorded_result, live_result = recorded.get("result"), live.get("result")
        if isinstance(recorded_result, dict) and isinstance(live_result, dict):
            if isinstance(recorded_result.get("transactions"), list) and \
                    isinstance(live_result.get("transactions"), list):
                live_result = {**live_result, "transactions": self._order_like(
                    recorded_result["transactions"], live_result["transactions"])}
            return {**live, "result": live_result}
        if not isinstance(recorded_result, list) or not isinstance(live_result, list):
            return live
        return {**live, "result": self._order_like(recorded_result, live_result)}

    def _order_like(self, recorded_items, live_items):
        """live_items in the order of recorded_items, matched by (txid, vout, category); an
        item whose txid is not learned yet (a coinbase seen first here) by its place in the
        chain instead (vout, category, confirmations, block height)."""
        def identity(item, txid):
            return (txid, item.get("vout"), item.get("category"))

        def place(item):
            return (item.get("vout"), item.get("category"), item.get("confirmations"),
                    item.get("blockheight"))

        remaining = list(live_items)
        ordered = []
        for item in recorded_items:
            key = identity(item, self.mapping.get(item["txid"], item["txid"]))
            match = next((v for v in remaining if identity(v, v.get("txid")) == key), None)
            if match is None and item["txid"] not in self.mapping:
                match = next((v for v in remaining if place(v) == place(item)), None)
            if match is None:
                return live_items
            remaining.remove(match)
            ordered.append(match)
        return ordered + remaining

    def compare_reply(self, recorded, live, result_key=None):
        if isinstance(recorded, list):
            if not isinstance(live, list) or len(live) != len(recorded):
                raise Mismatch(f"batch reply {live!r}")
            for r, v in zip(recorded, live, strict=True):
                self.compare_reply(r, v)
            return
        if set(recorded) != set(live):
            raise Mismatch(f"reply keys {sorted(live)} != {sorted(recorded)}")
        if "id" in recorded and recorded["id"] != live["id"]:
            raise Mismatch(f"id {live['id']!r} != {recorded['id']!r}")
        if recorded.get("error") is not None:
            error = recorded["error"]
            expected = self.subst_text(error["message"])
            got = live["error"]
            if got is None or got["code"] != error["code"] or got["message"] != expected:
                raise Mismatch(f"error {got!r}, expected code {error['code']} {expected!r}")
        elif live.get("error") is not None:
            raise Mismatch(f"unexpected error {live['error']!r}")
        if "result" in recorded:
            self.compare(recorded["result"], live["result"], key=result_key)

    def _post(self, body, path, auth, method):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(self.server.base_url + path,
                                         data=body if method == "POST" else None, method=method)
        if auth is None:
            auth = f"{self.server.rpcuser}:{self.server.rpcpassword}"
        if auth and ":" in auth:
            request.add_header("Authorization",
                               "Basic " + base64.b64encode(auth.encode()).decode())
        elif auth:
            request.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()


def _all_recorded_txs():
    table = {}
    replayer = Replayer.__new__(Replayer)
    for name in ORDER:
        replayer.index_tx_hex(load(name)["calls"], table)
    return table


def _decimal(value):
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _recorded_coinbase_heights():
    """txid -> height of the recorded node's coinbases of empty blocks paying the miner address.

    Core v30's coinbase for an empty block is fully determined by height and payout script
    (BIP34 height push, nLockTime height-1, witness commitment to the empty witness tree), so
    the recorded coinbase txids that wallet sends spend can be identified without the blocks.
    """
    from devchain.chain import Chain, merkle_root

    miner = script_from_address(MINER_ADDRESS)
    chain = Chain()
    empty_root = merkle_root([b"\x00" * 32])
    return {txid(chain._coinbase(h, miner, 50 * 100_000_000, empty_root)): h
            for h in range(1, 200)}


MINER_ADDRESS = "bcrt1qs2pzwrkmjufns6y5spq2msyuqf6rsch8c9p56q"  # the recording's mining address
ALL_RECORDED_TXS = _all_recorded_txs()
RECORDED_COINBASE_HEIGHTS = _recorded_coinbase_heights()
