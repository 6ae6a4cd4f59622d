"""JSON encoding the way Bitcoin Core writes it.

Money is kept as integer satoshis everywhere. On the wire an amount is a JSON number with
exactly 8 decimals (``0.70000000``), which the standard ``json`` module cannot produce from a
float, so this module writes JSON itself.
"""

import json
from decimal import Decimal, InvalidOperation

COIN = 100_000_000
MAX_MONEY = 21_000_000 * COIN


class Amount:
    """An amount in satoshis, written to JSON as BTC with 8 decimals."""

    __slots__ = ("sats",)

    def __init__(self, sats: int):
        self.sats = int(sats)

    def __repr__(self):
        return f"Amount({self.sats})"

    def __eq__(self, other):
        return isinstance(other, Amount) and other.sats == self.sats

    def to_json(self) -> str:
        sign = "-" if self.sats < 0 else ""
        whole, frac = divmod(abs(self.sats), COIN)
        return f"{sign}{whole}.{frac:08d}"


class RawNumber:
    """A number written verbatim (e.g. difficulty ``4.656542373906925e-10``)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def dumps(value) -> str:
    """Serialise ``value`` compactly, writing Amount/RawNumber/Decimal as raw numbers."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value, out):
    if isinstance(value, Amount):
        out.append(value.to_json())
    elif isinstance(value, RawNumber):
        out.append(value.text)
    elif value is None or isinstance(value, (bool, str, int)):
        out.append(json.dumps(value))
    elif isinstance(value, float):
        out.append(repr(value))
    elif isinstance(value, Decimal):
        out.append(str(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")


def loads(text):
    """Parse JSON keeping non-integer numbers as Decimal (never float)."""
    return json.loads(text, parse_float=Decimal)


def btc_to_sats(value) -> int:
    """Convert a JSON amount (Decimal/int/str, in BTC) to satoshis; ValueError if invalid."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str, float)):
        raise ValueError("Amount is not a number or string")
    try:
        dec = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("Invalid amount") from exc
    sats = dec * COIN
    if sats != sats.to_integral_value():
        raise ValueError("Invalid amount")
    sats = int(sats)
    if sats < 0 or sats > MAX_MONEY:
        raise ValueError("Amount out of range")
    return sats


def fee_rate_btc_kvb(fee_sats: int, vsize: int) -> Amount:
    """Fee rate in BTC/kvB as Core computes it (CFeeRate: sats * 1000 / vsize, truncated)."""
    if vsize == 0:
        return Amount(0)
    return Amount(fee_sats * 1000 // vsize)
