"""Registering what to watch: transactions until they settle, addresses for coins arriving
and leaving."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.audit import record_event
from core.bitcoin import parse_outpoint, validate_txid
from core.errors import ValidationFailed
from core.tasks import enqueue

from ..audit import ChainAction
from ..models import WatchedAddress, WatchedInput, WatchedOutput, WatchedTransaction


@transaction.atomic
def watch_transaction(*, txid: str, purpose: str, ref: str, inputs: Iterable[Any] = (),
                      expected_outputs: Iterable[Any] = (),
                      network: str | None = None) -> WatchedTransaction:
    """Watch a transaction until it settles. Idempotent on (txid, purpose, ref).
    inputs: outpoints ("txid:vout" strings or (txid, vout) pairs) the tx spends, so a
    conflict on any of them is seen."""
    txid = validate_txid(txid)
    if purpose not in WatchedTransaction.Purpose.values:
        raise ValidationFailed(f"Unknown purpose {purpose!r}.", field="purpose")
    existing = WatchedTransaction.objects.filter(txid=txid, purpose=purpose, ref=str(ref)).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            wtx = WatchedTransaction.objects.create(
                txid=txid, purpose=purpose, ref=str(ref),
                network=network or settings.BITCOIN_NETWORK,
                expected_outputs=list(expected_outputs), next_check_at=timezone.now())
    except IntegrityError:
        return WatchedTransaction.objects.get(txid=txid, purpose=purpose, ref=str(ref))
    outpoints = sorted({parse_outpoint(item) for item in inputs})
    WatchedInput.objects.bulk_create(
        [WatchedInput(watched_tx=wtx, txid=t, vout=v) for t, v in outpoints])
    record_event(actor=None, action=ChainAction.TX_WATCHED, obj=wtx,
                 after={"txid": txid, "purpose": purpose, "ref": str(ref),
                        "inputs": [f"{t}:{v}" for t, v in outpoints]})
    transaction.on_commit(lambda: enqueue("chain.track_transaction", wtx.pk))
    return wtx


def learn_inputs(*, watched_tx_id: int, inputs: Iterable[Any]) -> int:
    """The outpoints a watched transaction spends, as the node showed them, for a watched
    transaction registered without them (a clerk records a sweep by its txid alone). Safe to
    believe: a txid commits to its inputs, so any node's answer for that txid is the same.
    Runs in the caller's transaction; returns how many were added (0 when known already).
    From then on a conflict or replacement of any of them is seen (chain.services.poll)."""
    outpoints = sorted({parse_outpoint(item) for item in inputs})
    if not outpoints:
        return 0
    # The row first: a caller holding nothing (intake verification) waits here for one
    # holding the row (the tracker, the poller) and then finds the inputs known. Inserting
    # first would deadlock them: its foreign-key check waits for the holder, whose insert of
    # the same outpoints waits for it (tests/chain/test_learn_inputs_race.py).
    list(WatchedTransaction.objects.select_for_update().filter(pk=watched_tx_id)
         .values_list("pk", flat=True))
    if WatchedInput.objects.filter(watched_tx_id=watched_tx_id).exists():
        return 0
    created = WatchedInput.objects.bulk_create(
        [WatchedInput(watched_tx_id=watched_tx_id, txid=t, vout=v) for t, v in outpoints],
        ignore_conflicts=True)
    record_event(actor=None, action=ChainAction.TX_INPUTS_LEARNED,
                 object_type="chain.watchedtransaction",
                 object_id=str(WatchedTransaction.objects.values_list("public_id", flat=True)
                               .get(pk=watched_tx_id)),
                 after={"inputs": [f"{t}:{v}" for t, v in outpoints]})
    return len(created)


def watch_address(*, address: str, purpose: str, ref: str = "") -> WatchedAddress:
    """Watch an address for coins arriving and leaving. Idempotent. Once committed, the
    address is also registered with the node's watch-only wallet (chain.watch_on_node), so
    adapter.address_utxos() can answer for it without scanning the UTXO set."""
    with transaction.atomic(savepoint=False):  # the row and its event, or neither
        obj = WatchedAddress(address=address, purpose=purpose, ref=str(ref))
        if not _insert_if_new(obj):
            return WatchedAddress.objects.get(address=address)
        record_event(actor=None, action=ChainAction.ADDRESS_WATCHED, obj=obj,
                     after={"address": address, "purpose": purpose, "ref": str(ref)})
        transaction.on_commit(lambda: enqueue("chain.watch_on_node", obj.pk))
    return obj


def _insert_if_new(obj: WatchedAddress) -> bool:
    """INSERT … ON CONFLICT (address) DO NOTHING RETURNING id: one statement, no savepoint
    (get_or_create takes three and a savepoint), and a concurrent insert of the same address
    waits for the other transaction instead of failing it. True when this call inserted."""
    meta = WatchedAddress._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(f.column)) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 - our own names
            f"VALUES ({', '.join(['%s'] * len(fields))}) "
            f"ON CONFLICT ({quote('address')}) DO NOTHING RETURNING {quote('id')}", values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk, obj._state.adding, obj._state.db = row[0], False, connection.alias
    return True


def record_outputs(*, utxos: Iterable[Any]) -> None:
    """Coins at watched addresses found by a scan (chain.adapter.Utxo values)."""
    WatchedOutput.objects.bulk_create([
        WatchedOutput(txid=u.txid, vout=u.vout, address=u.address or "",
                      value_sats=u.value_sats, block_height=u.height)
        for u in utxos if u.value_sats > 0
    ], ignore_conflicts=True)
