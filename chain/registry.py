"""How the chain reports upward without importing the apps above it.

Higher apps register handlers by dotted path in their AppConfig.ready():

    registry.on_transaction(Purpose.SWEEP, "intake.chain_handlers.sweep_changed")
    registry.on_coins_spent(AddressPurpose.CUSTODY, "intake.chain_handlers.custody_coins_spent")
    registry.on_coins_received(AddressPurpose.RESERVE, "custody.chain_handlers.deposit_seen")
    registry.on_blocks("intake.chain_handlers.blocks_connected")
    registry.spend_check("custody.chain_handlers.is_approved_spend")

A path that cannot be imported fails the system check `chain.E001` at start-up (and
`manage.py check` in CI), so a typo can never silently switch settlement off. Handlers run
inside the watcher's transaction, in registration order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from core.dotted import check_paths, resolve

from .events import (
    AddressPurpose,
    BlocksConnected,
    CoinsReceived,
    CoinsSpent,
    Purpose,
    TxStateChanged,
)

_tx: dict[str, list[str]] = {}
_spent: dict[str, list[str]] = {}
_received: dict[str, list[str]] = {}
_blocks: list[str] = []
_spend_checks: list[str] = []


def _add(bucket: list[str], path: str) -> None:
    if path not in bucket:
        bucket.append(path)


def on_transaction(purpose: Purpose, path: str) -> None:
    if purpose not in Purpose.values:
        raise ImproperlyConfigured(f"unknown watched-transaction purpose {purpose!r}")
    _add(_tx.setdefault(str(purpose), []), path)


def _address_purpose(purpose: AddressPurpose) -> str:
    if purpose not in AddressPurpose.values:
        raise ImproperlyConfigured(f"unknown watched-address purpose {purpose!r}")
    return str(purpose)


def on_coins_spent(purpose: AddressPurpose, path: str) -> None:
    _add(_spent.setdefault(_address_purpose(purpose), []), path)


def on_coins_received(purpose: AddressPurpose, path: str) -> None:
    _add(_received.setdefault(_address_purpose(purpose), []), path)


def on_blocks(path: str) -> None:
    _add(_blocks, path)


def spend_check(path: str) -> None:
    _add(_spend_checks, path)


def all_paths() -> list[str]:
    paths = [p for group in (*_tx.values(), *_spent.values(), *_received.values())
             for p in group]
    return [*paths, *_blocks, *_spend_checks]




def _call_all(paths: Iterable[str], event: object) -> None:
    for path in paths:
        resolve(path)(event)


# --- dispatch (called by chain.services) ---------------------------------------------------
def transaction_changed(event: TxStateChanged) -> None:
    _call_all(_tx.get(str(event.purpose), ()), event)


def coins_spent(event: CoinsSpent) -> None:
    _call_all(_spent.get(str(event.purpose), ()), event)


def coins_received(event: CoinsReceived) -> None:
    _call_all(_received.get(str(event.purpose), ()), event)


def blocks_connected(event: BlocksConnected) -> None:
    _call_all(_blocks, event)


def is_spend_approved(txid: str, outpoints: list[tuple[str, int]]) -> bool:
    """True when any registered check recognises the spend; with none registered, no spend
    is approved (every spend from a watched custody address is an alarm)."""
    return any(bool(resolve(path)(txid, outpoints)) for path in _spend_checks)


@checks.register()
def check_handlers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return check_paths(all_paths(), what="chain handler", check_id="chain.E001")
