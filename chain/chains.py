"""The chains an asset can live on, and which of them Qazyna watches through an adapter.

A seized asset names its chain ("bitcoin", "ethereum", "tron") and that chain's network. The
chains are known here; an adapter per chain comes from settings.CHAIN_ADAPTERS:

    CHAIN_ADAPTERS = {"bitcoin": {"adapter": "chain.adapter.get_adapter",
                                  "network_setting": "BITCOIN_NETWORK"}}

(the network it serves is read from the setting each time, so tests that point the chain
elsewhere need not touch it; "network": "mainnet" names it outright).

Bitcoin's is the bitcoinlib adapter (chain.adapter). An Ethereum or Tron node for USDT is
added beside it by writing its adapter module in chain/ and naming it here in settings:
intake asks only `tracked_on(chain, network)` and `adapter_for(chain)`, never which chain it
is. An asset on a known chain without an adapter is recorded and untracked (its way out is
the fund's custodian's receipt, four eyes); an unknown chain is refused with
`ErrorCode.UNKNOWN_CHAIN`, and asking for an adapter no one registered raises
`ChainNotSupported` (a ValidationFailed with the same code), never a KeyError deep down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks

from core.bitcoin import NETWORK_NAMES
from core.dotted import check_paths, resolve
from core.errors import ErrorCode, ValidationFailed


@dataclass(frozen=True, slots=True)
class Chain:
    name: str
    label: str
    native_asset: str
    networks: tuple[str, ...]
    # What a transaction id looks like there (for receipts recorded by hand).
    txid_pattern: str


BITCOIN = "bitcoin"
CHAINS: dict[str, Chain] = {c.name: c for c in (
    Chain(BITCOIN, "Bitcoin", "BTC", tuple(NETWORK_NAMES), r"^[0-9a-f]{64}$"),
    Chain("ethereum", "Ethereum", "ETH", ("mainnet", "sepolia", "holesky"),
          r"^0x[0-9a-f]{64}$"),
    Chain("tron", "Tron", "TRX", ("mainnet", "shasta", "nile"), r"^[0-9a-f]{64}$"),
)}


class ChainNotSupported(ValidationFailed):
    """A chain Qazyna does not know, or one with no adapter registered."""

    def __init__(self, detail: str, **extra: Any):
        super().__init__(detail, code=ErrorCode.UNKNOWN_CHAIN, field="chain", **extra)


def get_chain(name: str) -> Chain:
    chain = CHAINS.get(str(name or "").lower())
    if chain is None:
        raise ChainNotSupported(f"Unknown chain {name!r}: Qazyna knows "
                                f"{', '.join(sorted(CHAINS))}.", known=sorted(CHAINS))
    return chain


def validate_network(chain_name: str, network: str) -> str:
    chain = get_chain(chain_name)
    if network not in chain.networks:
        raise ValidationFailed(f"{chain.label} networks: {', '.join(chain.networks)}.",
                               code=ErrorCode.WRONG_NETWORK, field="network")
    return network


def _registered() -> dict[str, dict[str, Any]]:
    return dict(getattr(settings, "CHAIN_ADAPTERS", {}) or {})


def has_adapter(chain_name: str) -> bool:
    return str(chain_name or "").lower() in _registered()


def tracked_on(chain_name: str, network: str, asset: str | None = None) -> bool:
    """Whether assets on (chain, network) are watched: an adapter is registered for the
    chain and serves that network (and, given an asset, it is the chain's native coin:
    tokens on it are not watched by the coin's adapter)."""
    entry = _registered().get(str(chain_name or "").lower())
    if not entry or _served_network(entry) != network:
        return False
    return asset is None or CHAINS[str(chain_name).lower()].native_asset == asset


def _served_network(entry: dict[str, Any]) -> str | None:
    if entry.get("network_setting"):
        return getattr(settings, entry["network_setting"], None)
    return entry.get("network")


def adapter_for(chain_name: str) -> Any:
    """The adapter of a chain (as its registered factory builds it). An unknown chain, or a
    known one with no adapter registered, is refused clearly (ChainNotSupported)."""
    chain = get_chain(chain_name)
    entry = _registered().get(chain.name)
    if not entry:
        raise ChainNotSupported(
            f"No adapter is registered for {chain.label}: its assets are recorded, not "
            "watched (settings.CHAIN_ADAPTERS).", chain=chain.name)
    return resolve(entry["adapter"])()


def chain_txid(chain_name: str, txid: str) -> str:
    """A transaction id in the chain's own shape (lower case), or ValidationFailed."""
    chain = get_chain(chain_name)
    value = str(txid or "").strip().lower()
    if not re.match(chain.txid_pattern, value):
        raise ValidationFailed(f"Not a {chain.label} transaction id.",
                               code=ErrorCode.INVALID_TXID, field="txid")
    return value


@checks.register()
def check_adapters(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name in _registered():
        if name not in CHAINS:
            errors.append(checks.Error(f"CHAIN_ADAPTERS names unknown chain {name!r}",
                                       id="chain.E002"))
    errors += check_paths([e["adapter"] for e in _registered().values() if e.get("adapter")],
                          what="chain adapter", check_id="chain.E003")
    return errors
