"""Raw transaction helpers: parsing, ids, sizes and Core-style JSON decoding."""

import hashlib
from io import BytesIO

from embit import compact
from embit.descriptor.checksum import add_checksum
from embit.script import Script
from embit.transaction import Transaction

from .encoding import Amount
from .network import address_from_script

SEGWIT_SCALE = 4


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


class DecodeError(ValueError):
    pass


def parse_tx(data) -> Transaction:
    """Parse a raw transaction (hex string or bytes) strictly; DecodeError when it is not one."""
    if isinstance(data, str):
        try:
            raw = bytes.fromhex(data)
        except ValueError as exc:
            raise DecodeError("not hex") from exc
    else:
        raw = data
    try:
        stream = BytesIO(raw)
        tx = Transaction.read_from(stream)
        if stream.read(1):
            raise DecodeError("trailing data")
    except DecodeError:
        raise
    except Exception as exc:  # embit raises several error types on bad input
        raise DecodeError(str(exc)) from exc
    if not tx.vin:
        raise DecodeError("no inputs")
    return tx


def serialize(tx: Transaction, witness: bool = True) -> bytes:
    has_witness = witness and any(len(inp.witness.items) for inp in tx.vin)
    out = bytearray(tx.version.to_bytes(4, "little"))
    if has_witness:
        out += b"\x00\x01"
    out += compact.to_bytes(len(tx.vin))
    for inp in tx.vin:
        out += bytes(reversed(inp.txid)) + inp.vout.to_bytes(4, "little")
        out += inp.script_sig.serialize() + inp.sequence.to_bytes(4, "little")
    out += compact.to_bytes(len(tx.vout))
    for txout in tx.vout:
        out += txout.value.to_bytes(8, "little") + txout.script_pubkey.serialize()
    if has_witness:
        for inp in tx.vin:
            out += inp.witness.serialize()
    out += tx.locktime.to_bytes(4, "little")
    return bytes(out)


def txid(tx: Transaction) -> str:
    return sha256d(serialize(tx, witness=False))[::-1].hex()


def wtxid(tx: Transaction) -> str:
    return sha256d(serialize(tx, witness=True))[::-1].hex()


def weight(tx: Transaction) -> int:
    stripped = len(serialize(tx, witness=False))
    total = len(serialize(tx, witness=True))
    return stripped * (SEGWIT_SCALE - 1) + total


def vsize(tx: Transaction) -> int:
    return (weight(tx) + SEGWIT_SCALE - 1) // SEGWIT_SCALE


def is_coinbase(tx: Transaction) -> bool:
    return len(tx.vin) == 1 and tx.vin[0].txid == b"\x00" * 32 and tx.vin[0].vout == 0xFFFFFFFF


def signals_rbf(tx: Transaction) -> bool:
    return any(inp.sequence < 0xFFFFFFFE for inp in tx.vin)


# --- scripts -------------------------------------------------------------------------------

OPCODE_NAMES = {
    0x00: "0", 0x4F: "-1", 0x61: "OP_NOP", 0x63: "OP_IF", 0x64: "OP_NOTIF", 0x67: "OP_ELSE",
    0x68: "OP_ENDIF", 0x69: "OP_VERIFY", 0x6A: "OP_RETURN", 0x75: "OP_DROP", 0x76: "OP_DUP",
    0x87: "OP_EQUAL", 0x88: "OP_EQUALVERIFY", 0xA9: "OP_HASH160", 0xA8: "OP_SHA256",
    0xAC: "OP_CHECKSIG", 0xAD: "OP_CHECKSIGVERIFY", 0xAE: "OP_CHECKMULTISIG",
    0xAF: "OP_CHECKMULTISIGVERIFY", 0xB1: "OP_CHECKLOCKTIMEVERIFY", 0xB2: "OP_CHECKSEQUENCEVERIFY",
    0xBA: "OP_CHECKSIGADD",
}
for _n in range(1, 17):
    OPCODE_NAMES[0x50 + _n] = str(_n)

SIGHASH_NAMES = {1: "ALL", 2: "NONE", 3: "SINGLE", 0x81: "ALL|ANYONECANPAY",
                 0x82: "NONE|ANYONECANPAY", 0x83: "SINGLE|ANYONECANPAY"}


def iter_script(data: bytes):
    """Yield (opcode, pushdata or None); raises ValueError on a truncated push."""
    i = 0
    while i < len(data):
        op = data[i]
        i += 1
        if 0 < op < 0x4C:
            size = op
        elif op == 0x4C:
            size = data[i]
            i += 1
        elif op == 0x4D:
            size = int.from_bytes(data[i:i + 2], "little")
            i += 2
        elif op == 0x4E:
            size = int.from_bytes(data[i:i + 4], "little")
            i += 4
        else:
            yield op, None
            continue
        if i + size > len(data):
            raise ValueError("truncated push")
        yield op, data[i:i + size]
        i += size


def _looks_like_der_sig(push: bytes) -> bool:
    return 9 <= len(push) <= 73 and push[0] == 0x30 and push[1] == len(push) - 3


def script_asm(data: bytes, decode_sighash: bool = False) -> str:
    words = []
    try:
        for op, push in iter_script(data):
            if push is None:
                words.append(OPCODE_NAMES.get(op, f"OP_UNKNOWN_{op:#x}"))
            elif decode_sighash and _looks_like_der_sig(push) and push[-1] in SIGHASH_NAMES:
                words.append(push[:-1].hex() + f"[{SIGHASH_NAMES[push[-1]]}]")
            else:
                words.append(push.hex())
    except ValueError:
        words.append("[error]")
    return " ".join(words)


def script_type(data: bytes) -> str:
    n = len(data)
    if n == 22 and data[0] == 0 and data[1] == 20:
        return "witness_v0_keyhash"
    if n == 34 and data[0] == 0 and data[1] == 32:
        return "witness_v0_scripthash"
    if n == 34 and data[0] == 0x51 and data[1] == 32:
        return "witness_v1_taproot"
    if n == 25 and data[:3] == b"\x76\xa9\x14" and data[23:] == b"\x88\xac":
        return "pubkeyhash"
    if n == 23 and data[:2] == b"\xa9\x14" and data[22] == 0x87:
        return "scripthash"
    if n >= 1 and data[0] == 0x6A:
        return "nulldata"
    if n in (35, 67) and data[-1] == 0xAC and data[0] == n - 2:
        return "pubkey"
    if n >= 37 and data[-1] == 0xAE:
        return "multisig"
    return "nonstandard"


def script_desc(data: bytes) -> str:
    kind = script_type(data)
    address = address_from_script(data)
    if kind == "witness_v1_taproot":
        return add_checksum(f"rawtr({data[2:].hex()})")
    if address is not None:
        return add_checksum(f"addr({address})")
    if kind == "pubkey":
        return add_checksum(f"pk({data[1:-1].hex()})")
    return add_checksum(f"raw({data.hex()})")


def script_pubkey_json(data: bytes) -> dict:
    result = {"asm": script_asm(data), "desc": script_desc(data), "hex": data.hex()}
    address = address_from_script(data)
    if address is not None:
        result["address"] = address
    result["type"] = script_type(data)
    return result


def tx_to_json(tx: Transaction, prevouts=None, fee=None) -> dict:
    """Core's TxToUniv. ``prevouts``: list of (Coin) per input for verbosity 2+ (or None)."""
    result = {
        "txid": txid(tx),
        "hash": wtxid(tx),
        "version": tx.version if tx.version < 2**31 else tx.version - 2**32,
        "size": len(serialize(tx)),
        "vsize": vsize(tx),
        "weight": weight(tx),
        "locktime": tx.locktime,
    }
    vin = []
    coinbase = is_coinbase(tx)
    for i, inp in enumerate(tx.vin):
        entry = {}
        if coinbase:
            entry["coinbase"] = inp.script_sig.data.hex()
        else:
            entry["txid"] = inp.txid.hex()
            entry["vout"] = inp.vout
            entry["scriptSig"] = {
                "asm": script_asm(inp.script_sig.data, decode_sighash=True),
                "hex": inp.script_sig.data.hex(),
            }
        if inp.witness.items:
            entry["txinwitness"] = [item.hex() for item in inp.witness.items]
        if prevouts is not None and not coinbase and prevouts[i] is not None:
            coin = prevouts[i]
            entry["prevout"] = {
                "generated": coin.coinbase,
                "height": coin.height,
                "value": Amount(coin.value),
                "scriptPubKey": script_pubkey_json(coin.script),
            }
        entry["sequence"] = inp.sequence
        vin.append(entry)
    result["vin"] = vin
    result["vout"] = [
        {"value": Amount(out.value), "n": n,
         "scriptPubKey": script_pubkey_json(out.script_pubkey.data)}
        for n, out in enumerate(tx.vout)
    ]
    if fee is not None and not coinbase:
        result["fee"] = Amount(fee)
    result["hex"] = serialize(tx).hex()
    return result


def make_script(data: bytes) -> Script:
    return Script(data)
