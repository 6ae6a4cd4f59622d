"""What the chain layer tells the apps above it: frozen values with chain's own enum members,
never strings for the receiver to re-interpret. Handlers receive them through
chain.registry, inside the watcher's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from .models import TxState, WatchedAddress, WatchedTransaction

Purpose = WatchedTransaction.Purpose
AddressPurpose = WatchedAddress.Purpose

# Where a watched transaction's coins are, in the receiver's terms.
SETTLED_STATES = frozenset({TxState.CONFIRMED})
ON_CHAIN_STATES = frozenset({TxState.CONFIRMING, TxState.CONFIRMED})
GONE_STATES = frozenset({TxState.CONFLICTED, TxState.REPLACED, TxState.DROPPED})


@dataclass(frozen=True)
class TxStateChanged:
    """A watched transaction moved from old_state to new_state."""

    watched_tx_id: int
    txid: str
    purpose: Purpose
    ref: str
    old_state: TxState
    new_state: TxState
    block_hash: str
    block_height: int | None
    confirmations: int
    conflicting_txid: str

    @property
    def left_the_chain(self) -> bool:
        """Was on chain, and no longer is (a reorg, or a conflicting spend mined)."""
        return self.old_state in ON_CHAIN_STATES and self.new_state not in ON_CHAIN_STATES

    @property
    def gone(self) -> bool:
        """Lost for good unless a reorg brings it back: replaced, conflicted, dropped."""
        return self.new_state in GONE_STATES


@dataclass(frozen=True)
class WatchedCoin:
    txid: str
    vout: int
    value_sats: int


@dataclass(frozen=True)
class CoinsSpent:
    """Coins at a watched address were spent by spender_txid (in a block or the mempool).
    approved: whether a registered spend check recognised the spend."""

    address: str
    purpose: AddressPurpose
    ref: str
    spender_txid: str
    coins: tuple[WatchedCoin, ...]
    approved: bool

    @property
    def amount_sats(self) -> int:
        return sum(c.value_sats for c in self.coins)


@dataclass(frozen=True)
class CoinsReceived:
    """A transaction paid a watched address; block_hash is empty for a mempool sighting.
    known_txid: the transaction is already watched as a transfer or deposit."""

    address: str
    purpose: AddressPurpose
    ref: str
    txid: str
    vout: int
    value_sats: int
    block_hash: str
    block_height: int | None
    confirmations: int
    known_txid: bool


@dataclass(frozen=True)
class BlocksConnected:
    """One poll connected new blocks up to the tip (count of them; 0 when a reorg only took
    blocks away)."""

    tip_height: int
    tip_hash: str
    count: int
