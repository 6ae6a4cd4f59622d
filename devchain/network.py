"""Regtest network parameters and address encoding (as Bitcoin Core regtest writes them)."""

from embit import bech32
from embit.base58 import decode_check, encode_check
from embit.networks import NETWORKS

REGTEST = NETWORKS["regtest"]  # p2pkh 0x6f, p2sh 0xc4, wif 0xef, bech32 hrp "bcrt"
HRP = REGTEST["bech32"]
P2PKH_PREFIX = REGTEST["p2pkh"]
P2SH_PREFIX = REGTEST["p2sh"]

GENESIS_TIME = 1296688602
REGTEST_BITS = 0x207FFFFF
HALVING_INTERVAL = 150
COINBASE_MATURITY = 100
INITIAL_SUBSIDY = 50 * 100_000_000


def block_subsidy(height: int) -> int:
    halvings = height // HALVING_INTERVAL
    if halvings >= 64:
        return 0
    return INITIAL_SUBSIDY >> halvings


def address_from_script(data: bytes):
    """The address for a scriptPubKey, or None when it has none."""
    n = len(data)
    if n == 25 and data[:3] == b"\x76\xa9\x14" and data[23:] == b"\x88\xac":
        return encode_check(P2PKH_PREFIX + data[3:23])
    if n == 23 and data[:2] == b"\xa9\x14" and data[22] == 0x87:
        return encode_check(P2SH_PREFIX + data[2:22])
    if 4 <= n <= 42 and (data[0] == 0 or 0x51 <= data[0] <= 0x60) and data[1] == n - 2:
        version = 0 if data[0] == 0 else data[0] - 0x50
        if version == 0 and n not in (22, 34):
            return None
        return bech32.encode(HRP, version, data[2:])
    return None


def script_from_address(address: str):
    """The scriptPubKey bytes for a regtest address, or None when it is not valid."""
    if not isinstance(address, str):
        return None
    if address.lower().startswith(HRP + "1"):
        version, program = bech32.decode(HRP, address)
        if version is None or program is None:
            return None
        program = bytes(program)
        if version == 0 and len(program) not in (20, 32):
            return None
        op = 0 if version == 0 else 0x50 + version
        return bytes([op, len(program)]) + program
    try:
        raw = decode_check(address)
    except Exception:
        return None
    if len(raw) != 21:
        return None
    if raw[:1] == P2PKH_PREFIX:
        return b"\x76\xa9\x14" + raw[1:] + b"\x88\xac"
    if raw[:1] == P2SH_PREFIX:
        return b"\xa9\x14" + raw[1:] + b"\x87"
    return None
