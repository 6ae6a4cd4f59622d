"""What the chain watchers know. Confirmations are never stored: they are derived from the
block a transaction is in (hash and height) and our view of the active chain (SeenBlock)."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ChainCursor(models.Model):
    """A single row: the last block the poller processed, and its lease."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    height = models.IntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=64, blank=True)
    tip_time = models.BigIntegerField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="chain_cursor_singleton")]


class SeenBlock(models.Model):
    """Our view of the active chain (recent part): one block per height. A reorg replaces
    the rows above the fork point."""

    height = models.IntegerField(unique=True)
    block_hash = models.CharField(max_length=64, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    time = models.BigIntegerField()

    class Meta:
        ordering = ["-height"]
        constraints = [models.CheckConstraint(condition=Q(height__gte=0),
                                              name="seen_block_height_nonneg")]


class WatchedAddress(models.Model):
    class Purpose(models.TextChoices):
        CUSTODY = "custody", _("Case custody address")
        RESERVE = "reserve", _("Reserve address")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    address = models.CharField(max_length=90, unique=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    ref = models.CharField(max_length=100, blank=True, help_text="case / wallet public id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class WatchedOutput(models.Model):
    """A coin at a watched address, so a spend of it is recognised in any block or mempool
    transaction without asking the node per address."""

    txid = models.CharField(max_length=64)
    vout = models.PositiveIntegerField()
    address = models.CharField(max_length=90, db_index=True)
    value_sats = models.BigIntegerField()
    block_hash = models.CharField(max_length=64, blank=True)
    block_height = models.IntegerField(null=True, blank=True)
    spent_by_txid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["txid", "vout"], name="watched_output_once"),
            models.CheckConstraint(condition=Q(value_sats__gt=0),
                                   name="watched_output_value_positive"),
        ]


class TxState(models.TextChoices):
    PENDING = "PENDING", _("Not seen yet")
    MEMPOOL = "MEMPOOL", _("In the mempool")
    CONFIRMING = "CONFIRMING", _("Confirming")
    CONFIRMED = "CONFIRMED", _("Confirmed (settled)")
    CONFLICTED = "CONFLICTED", _("An input was spent by another transaction")
    REPLACED = "REPLACED", _("Replaced (BIP125)")
    DROPPED = "DROPPED", _("Dropped")


ACTIVE_TX_STATES = (TxState.PENDING, TxState.MEMPOOL, TxState.CONFIRMING)


class WatchedTransaction(models.Model):
    class Purpose(models.TextChoices):
        SWEEP = "sweep", _("Sweep into custody")
        TRANSFER = "transfer", _("Transfer to reserve")
        DEPOSIT = "deposit", _("Deposit to reserve")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    txid = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    ref = models.CharField(max_length=100)
    network = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=TxState.choices, default=TxState.PENDING)
    block_hash = models.CharField(max_length=64, blank=True)
    block_height = models.IntegerField(null=True, blank=True)
    # Confirmations at the last state change, for display only; the truth is derived.
    confirmations_seen = models.IntegerField(default=0)
    conflicting_txid = models.CharField(max_length=64, blank=True)
    expected_outputs = models.JSONField(default=list, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["txid", "purpose", "ref"],
                                    name="watched_tx_once_per_purpose_ref"),
            models.CheckConstraint(condition=Q(txid__regex=r"^[0-9a-f]{64}$"),
                                   name="watched_tx_txid_hex"),
            models.CheckConstraint(
                condition=Q(block_hash="", block_height__isnull=True)
                | (~Q(block_hash="") & Q(block_height__isnull=False)),
                name="watched_tx_block_hash_and_height_together"),
        ]
        indexes = [
            models.Index(fields=["next_check_at"], condition=Q(next_check_at__isnull=False),
                         name="watched_tx_due"),
            models.Index(fields=["state", "block_height"],
                         condition=Q(state__in=["PENDING", "MEMPOOL", "CONFIRMING"]),
                         name="watched_tx_active"),
        ]

    def __str__(self):
        return f"{self.purpose} {self.txid} ({self.state})"

    def confirmations(self, tip_height):
        """Derived: blocks on top of ours, counting ours. Only meaningful while block_hash is
        on the active chain (the poller clears it when a reorg removes the block)."""
        if self.block_height is None or tip_height is None:
            return 0
        return max(tip_height - self.block_height + 1, 0)


class WatchedInput(models.Model):
    """An outpoint a watched transaction spends: a block or mempool tx spending it under
    another txid is a conflict. Indexed so matching a block is a few bulk queries."""

    watched_tx = models.ForeignKey(WatchedTransaction, on_delete=models.CASCADE,
                                   related_name="inputs")
    txid = models.CharField(max_length=64)
    vout = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["watched_tx", "txid", "vout"],
                                    name="watched_input_once"),
        ]
        indexes = [models.Index(fields=["txid", "vout"], name="watched_input_outpoint")]


class CircuitBreaker(models.Model):
    """A single row. Tripped: settlement and broadcasts pause until the cause clears."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    tripped = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    cause = models.CharField(max_length=16, blank=True)  # "stale_tip" | "deep_reorg"
    tripped_at = models.DateTimeField(null=True, blank=True)
    clears_after_height = models.IntegerField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="circuit_breaker_singleton"),
            models.CheckConstraint(condition=Q(tripped=False) | ~Q(reason=""),
                                   name="circuit_breaker_trip_has_reason"),
        ]


class MempoolTx(models.Model):
    """Mempool txids already looked at, so each poll fetches only the new ones."""

    txid = models.CharField(max_length=64, unique=True)
    first_seen = models.DateTimeField(auto_now_add=True)
