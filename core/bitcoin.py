"""Bitcoin values Qazyna accepts from people: addresses, txids, amounts, descriptors.

Pure functions over embit (no network). Only the chain adapter talks to a node. Every
refusal raises ValidationFailed with a stable code, so the API gives a 400 that says why.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from embit import base58, bech32, bip39
from embit.descriptor import Descriptor
from embit.descriptor.checksum import add_checksum
from embit.networks import NETWORKS
from embit.script import address_to_scriptpubkey

from core.errors import ErrorCode, ValidationFailed

SATS_PER_BTC = 100_000_000
MAX_SUPPLY_SATS = 21_000_000 * SATS_PER_BTC
NETWORK_NAMES = ("mainnet", "testnet", "signet", "regtest")
_EMBIT_NETWORK = {"mainnet": "main", "testnet": "test", "signet": "signet", "regtest": "regtest"}
_TXID_RE = re.compile(r"^[0-9a-f]{64}$")


def embit_network(network):
    try:
        return NETWORKS[_EMBIT_NETWORK[network]]
    except KeyError:
        raise ValidationFailed(f"Unknown network {network!r}.", code=ErrorCode.INVALID) from None


# --- private keys: never accepted ------------------------------------------------------
_EXTENDED_PRIVATE_PREFIXES = ("xprv", "tprv", "yprv", "zprv", "uprv", "vprv", "Yprv", "Zprv",
                              "Uprv", "Vprv")
_BASE58_TOKEN = re.compile(r"[1-9A-HJ-NP-Za-km-z]{50,120}")
_WORD = re.compile(r"[a-z]+")


def _is_wif(token):
    try:
        raw = base58.decode_check(token)
    except Exception:  # noqa: BLE001 - not base58check: not a WIF
        return False
    return raw[:1] in (b"\x80", b"\xef") and (
        len(raw) == 33 or (len(raw) == 34 and raw[-1] == 1)
    )


def _is_extended_private(token):
    if not token.startswith(_EXTENDED_PRIVATE_PREFIXES):
        return False
    try:
        return len(base58.decode_check(token)) == 78
    except Exception:  # noqa: BLE001
        return False


def _has_mnemonic(text):
    words = _WORD.findall(text.lower())
    if len(words) < 12:
        return False
    for size in (24, 21, 18, 15, 12):
        for start in range(0, len(words) - size + 1):
            phrase = " ".join(words[start:start + size])
            try:
                if bip39.mnemonic_is_valid(phrase):
                    return True
            except Exception:  # noqa: BLE001 - a word outside the wordlist
                continue
    return False


def find_private_key(text):
    """The kind of private key found in text ("extended private key", "WIF", "seed phrase"),
    or None. Only the kind is ever returned or logged, never the key."""
    if not isinstance(text, str) or len(text) < 12:
        return None
    for token in _BASE58_TOKEN.findall(text):
        if _is_extended_private(token):
            return "extended private key"
        if _is_wif(token):
            return "WIF private key"
    if _has_mnemonic(text):
        return "seed phrase"
    return None


def refuse_private_keys(value, field=""):
    """Walk any JSON-ish value; refuse the first private key found."""
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_private_keys(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            refuse_private_keys(item, field)
    elif isinstance(value, str):
        kind = find_private_key(value)
        if kind:
            raise ValidationFailed(
                f"{field + ': ' if field else ''}this looks like a {kind}. Qazyna never accepts "
                "private keys: keep it offline and give only public keys (xpub/descriptor).",
                code=ErrorCode.PRIVATE_KEY_REFUSED, field=field or None,
            )


# --- addresses and txids ---------------------------------------------------------------
def validate_address(address, network):
    """The address's scriptPubKey type if it is a valid address on network; else 400."""
    address = (address or "").strip()
    net = embit_network(network)
    if not address or len(address) > 90:
        raise ValidationFailed("Address is empty or too long.", code=ErrorCode.INVALID_ADDRESS)
    lowered = address.lower()
    if "1" in lowered and lowered.rsplit("1", 1)[0] in ("bc", "tb", "bcrt"):
        hrp = lowered.rsplit("1", 1)[0]
        if address != lowered and address != address.upper():
            raise ValidationFailed("Mixed-case bech32 address.", code=ErrorCode.INVALID_ADDRESS)
        version, program = bech32.decode(hrp, lowered)
        if version is None:
            raise ValidationFailed("Bad bech32 checksum or encoding.",
                                   code=ErrorCode.INVALID_ADDRESS)
        if hrp != net["bech32"]:
            raise ValidationFailed(f"This is not a {network} address (prefix {hrp}1).",
                                   code=ErrorCode.WRONG_NETWORK)
        if version == 0:
            return {20: "p2wpkh", 32: "p2wsh"}.get(len(program)) or _bad_address()
        return "p2tr" if version == 1 and len(program) == 32 else f"witness_v{version}"
    try:
        raw = base58.decode_check(address)
    except Exception:  # noqa: BLE001 - embit raises plain exceptions for bad checksums
        raise ValidationFailed("Bad base58 checksum or encoding.",
                               code=ErrorCode.INVALID_ADDRESS) from None
    if len(raw) != 21:
        _bad_address()
    version = raw[:1]
    if version == net["p2pkh"]:
        return "p2pkh"
    if version == net["p2sh"]:
        return "p2sh"
    known = {n["p2pkh"] for n in NETWORKS.values()} | {n["p2sh"] for n in NETWORKS.values()}
    if version in known:
        raise ValidationFailed(f"This is not a {network} address.", code=ErrorCode.WRONG_NETWORK)
    _bad_address()


def script_pubkey_of(address, network):
    """The hex scriptPubKey an address on network pays to (validated first: 400 if not)."""
    validate_address(address, network)
    return address_to_scriptpubkey(address.strip()).data.hex()


def _bad_address():
    raise ValidationFailed("Not a Bitcoin address.", code=ErrorCode.INVALID_ADDRESS)


def validate_txid(txid):
    txid = txid.strip() if isinstance(txid, str) else ""
    if not _TXID_RE.match(txid):
        raise ValidationFailed("A txid is 64 lowercase hexadecimal characters.",
                               code=ErrorCode.INVALID_TXID)
    if txid == "0" * 64:
        raise ValidationFailed("The null txid is not a transaction.", code=ErrorCode.INVALID_TXID)
    return txid


# --- amounts -------------------------------------------------------------------------------
def parse_outpoint(item: Any) -> tuple[str, int]:
    """(txid, vout) from "txid:vout", a (txid, vout) pair, a {"txid", "vout"} dict or an
    object with .txid and .vout; the txid validated, vout a non-negative integer."""
    txid: Any
    vout: Any
    if isinstance(item, str):
        txid, sep, vout = item.partition(":")
        if not sep:
            raise ValidationFailed("An outpoint is txid:vout.", code=ErrorCode.INVALID_TXID)
    elif isinstance(item, dict):
        txid, vout = item.get("txid"), item.get("vout")
    elif isinstance(item, (tuple, list)) and len(item) == 2:
        txid, vout = item
    else:
        txid, vout = getattr(item, "txid", None), getattr(item, "vout", None)
    try:
        index = int(vout)
    except (TypeError, ValueError):
        index = -1
    if isinstance(vout, bool) or index < 0:
        raise ValidationFailed("An outpoint's output index is a non-negative integer.",
                               code=ErrorCode.INVALID_TXID)
    return validate_txid(txid), index


def parse_btc_amount(value):
    """A decimal BTC string ("0.12345678") → integer satoshis. Floats are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationFailed("Send amounts as a decimal string or integer satoshis, "
                               "never a float.", code=ErrorCode.INVALID_AMOUNT)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed("Not a number.", code=ErrorCode.INVALID_AMOUNT) from None
    if not amount.is_finite():
        raise ValidationFailed("Not a finite number.", code=ErrorCode.INVALID_AMOUNT)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        raise ValidationFailed("At most 8 decimal places (1 satoshi).",
                               code=ErrorCode.INVALID_AMOUNT)
    return validate_sats(int(amount * SATS_PER_BTC))


def validate_sats(value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("Amounts are integers of satoshis.", code=ErrorCode.INVALID_AMOUNT)
    if value <= 0:
        raise ValidationFailed("An amount must be positive.", code=ErrorCode.INVALID_AMOUNT)
    if value > MAX_SUPPLY_SATS:
        raise ValidationFailed("More than 21 million BTC.", code=ErrorCode.INVALID_AMOUNT)
    return value


def format_btc(sats):
    return f"{Decimal(sats) / SATS_PER_BTC:.8f}"


# --- multisig descriptors ------------------------------------------------------------------
@dataclass(frozen=True)
class MultisigDescriptor:
    """A watch-only wsh(sortedmulti(M, keys/0/*)) descriptor, with its checksum."""

    text: str
    threshold: int
    key_count: int

    def address_at(self, index, network):
        if index < 0 or index >= 2**31:
            raise ValidationFailed("Derivation index out of range.", code=ErrorCode.INVALID)
        desc = Descriptor.from_string(self.text.split("#")[0])
        return desc.derive(index).address(network=embit_network(network))

    def script_pubkey_at(self, index):
        desc = Descriptor.from_string(self.text.split("#")[0])
        return desc.derive(index).script_pubkey().data.hex()


def build_multisig_descriptor(*, threshold, keys, network):
    """keys: xpub/tpub strings, each optionally with a key origin "[fp/48h/1h/0h/2h]tpub…"
    and an optional derivation suffix (defaults to /0/*)."""
    refuse_private_keys(list(keys), "keys")
    keys = [k.strip() for k in keys if k and k.strip()]
    if not 1 <= len(keys) <= 15:
        raise ValidationFailed("A multisig wallet has 1 to 15 keys.",
                               code=ErrorCode.INVALID_DESCRIPTOR)
    if isinstance(threshold, bool) or not isinstance(threshold, int) \
            or not 1 <= threshold <= len(keys):
        raise ValidationFailed("The threshold M must be between 1 and the number of keys N.",
                               code=ErrorCode.INVALID_DESCRIPTOR)
    if len(set(keys)) != len(keys):
        raise ValidationFailed("The same key appears twice.", code=ErrorCode.INVALID_DESCRIPTOR)
    expressions = [k if k.endswith("/*") else f"{k}/0/*" for k in keys]
    text = f"wsh(sortedmulti({threshold},{','.join(expressions)}))"
    return parse_multisig_descriptor(text, network)


def parse_multisig_descriptor(text, network):
    refuse_private_keys(text, "descriptor")
    text = (text or "").strip()
    body, _, given_checksum = text.partition("#")
    try:
        desc = Descriptor.from_string(body)
    except Exception as exc:  # noqa: BLE001 - embit raises a variety of errors
        raise ValidationFailed(f"Not a valid output descriptor: {exc}",
                               code=ErrorCode.INVALID_DESCRIPTOR) from None
    with_checksum = add_checksum(body)
    if given_checksum and with_checksum != text:
        raise ValidationFailed("The descriptor checksum does not match.",
                               code=ErrorCode.INVALID_DESCRIPTOR)
    if not desc.is_wrapped and not str(desc).startswith("wsh(sortedmulti("):
        raise ValidationFailed("Expected wsh(sortedmulti(M, …)).",
                               code=ErrorCode.INVALID_DESCRIPTOR)
    if not body.startswith("wsh(sortedmulti("):
        raise ValidationFailed("Expected wsh(sortedmulti(M, …)).",
                               code=ErrorCode.INVALID_DESCRIPTOR)
    keys = desc.keys
    if any(k.is_private for k in keys):
        raise ValidationFailed("Descriptors hold public keys only.",
                               code=ErrorCode.PRIVATE_KEY_REFUSED)
    if not desc.is_wildcard:
        raise ValidationFailed("The descriptor must be ranged (…/0/*) so each case and "
                               "transfer gets its own address.", code=ErrorCode.INVALID_DESCRIPTOR)
    xpub_version = embit_network(network)["xpub"]
    for key in keys:
        if key.is_extended and key.key.version != xpub_version:
            raise ValidationFailed(f"A key is not an extended public key for {network}.",
                                   code=ErrorCode.WRONG_NETWORK)
    threshold = desc.miniscript.args[0].num
    return MultisigDescriptor(text=with_checksum, threshold=threshold, key_count=len(keys))


def multisig_from(*, network, descriptor=None, threshold=None, keys=None):
    """A watch-only M-of-N wallet as an admin enters it: a ready wsh(sortedmulti(...))
    descriptor, or M and the keys. Any private key in any of them is refused first."""
    refuse_private_keys({"keys": keys or [], "descriptor": descriptor or ""})
    if descriptor:
        return parse_multisig_descriptor(descriptor, network)
    return build_multisig_descriptor(threshold=threshold, keys=keys or [], network=network)

