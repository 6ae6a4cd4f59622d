import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.bitcoin import NETWORK_NAMES

NETWORK_CHOICES = [(n, n) for n in NETWORK_NAMES]


# --- reserve wallets and their quorum policy ----------------------------------------------
class ApprovalStatus(models.TextChoices):
    PENDING = "PENDING", "Pending approval"
    ACTIVE = "ACTIVE", "Active"
    REJECTED = "REJECTED", "Rejected"
    SUPERSEDED = "SUPERSEDED", "Superseded"
    RETIRED = "RETIRED", "Retired"


class ReserveWallet(models.Model):
    """A National Bank cold wallet: a watch-only wsh(sortedmulti) descriptor. Entered by an
    admin, usable only after a second person approves it. Each transfer takes a fresh index."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    network = models.CharField(max_length=16, choices=NETWORK_CHOICES)
    label = models.CharField(max_length=200)
    descriptor = models.TextField(help_text="wsh(sortedmulti(M, [fp/48h/…]xpub…/0/*, …))#checksum")
    threshold = models.PositiveSmallIntegerField()
    key_count = models.PositiveSmallIntegerField()
    next_index = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.PENDING)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["descriptor"], name="reserve_descriptor_once"),
            models.CheckConstraint(
                condition=Q(threshold__gte=1) & Q(threshold__lte=F("key_count")),
                name="reserve_wallet_threshold_le_keys"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("entered_by")),
                name="reserve_wallet_four_eyes"),
        ]

    def __str__(self):
        return f"{self.label} ({self.threshold}-of-{self.key_count}, {self.network})"


class QuorumPolicy(models.Model):
    """How many bank-officer approvals a transfer into a reserve wallet needs, by amount.

    tiers: [{"min_amount_sats": 0, "approvals": 2}, {"min_amount_sats": 10**9, "approvals": 3}]
    — the highest tier whose minimum the amount reaches applies."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    wallet = models.ForeignKey(ReserveWallet, on_delete=models.PROTECT, related_name="policies")
    tiers = models.JSONField()
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.PENDING)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "quorum policies"
        constraints = [
            models.UniqueConstraint(fields=["wallet"], condition=Q(status=ApprovalStatus.ACTIVE),
                                    name="one_active_policy_per_wallet"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("proposed_by")),
                name="quorum_policy_four_eyes"),
        ]

    def approvals_for(self, amount_sats):
        required = 0
        for tier in sorted(self.tiers, key=lambda t: t["min_amount_sats"]):
            if amount_sats >= tier["min_amount_sats"]:
                required = tier["approvals"]
        return required


class ReserveAddress(models.Model):
    """A derived address of a reserve wallet: the only kind of destination a transfer has."""

    wallet = models.ForeignKey(ReserveWallet, on_delete=models.PROTECT, related_name="addresses")
    index = models.PositiveIntegerField()
    address = models.CharField(max_length=90, unique=True)
    script_pubkey = models.CharField(max_length=140)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["wallet_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "index"], name="reserve_index_once"),
        ]

    def __str__(self):
        return self.address


# --- transfers ----------------------------------------------------------------------------
class TransferStatus(models.TextChoices):
    PROPOSED = "PROPOSED", "Proposed"
    APPROVED = "APPROVED", "Approved"
    SIGNING = "SIGNING", "Signing"
    BROADCAST = "BROADCAST", "Broadcast"
    CONFIRMING = "CONFIRMING", "Confirming"
    SETTLED = "SETTLED", "Settled"
    CANCELLED = "CANCELLED", "Cancelled"
    FAILED = "FAILED", "Failed (rejected by the node)"
    REPLACED = "REPLACED", "Replaced"
    CONFLICTED = "CONFLICTED", "Conflicted"
    ON_HOLD = "ON_HOLD", "On hold (an input vanished)"


# Groups of transfer states, each defined once (the transitions themselves are in
# custody.transitions).
_T = TransferStatus
# Pending: proposed, approved or being signed; a vanished input puts it ON_HOLD.
PENDING_STATES = (_T.PROPOSED, _T.APPROVED, _T.SIGNING)
# Not yet sent to the node: the transfer may still be cancelled (or, pending, rebuilt).
PRE_BROADCAST_STATES = PENDING_STATES + (_T.ON_HOLD,)
# Open: a case has at most one open transfer (a partial unique index).
OPEN_STATES = PRE_BROADCAST_STATES + (_T.BROADCAST, _T.CONFIRMING)
# Transfers whose inputs are locked: a second transfer may not spend them.
LOCKING_STATES = OPEN_STATES + (_T.SETTLED,)
# The key holders have started signing: a spend of the custody coins by this transaction
# is an approved one.
SIGNED_STATES = (_T.SIGNING, _T.BROADCAST, _T.CONFIRMING, _T.SETTLED)
# Signed and not yet settled: the coins are in flight between custody and the reserve.
IN_FLIGHT_STATES = (_T.SIGNING, _T.BROADCAST, _T.CONFIRMING)


# --- court-ordered releases ---------------------------------------------------------------
class ReleaseOrder(models.Model):
    """A court's order that releases a case's assets: back to the owner of a rejected case
    (an overturned appeal included), or restitution to victims. The one way a destination
    that is not a reserve address enters the whitelist: recorded by one legal officer,
    approved by another with a fresh second factor (four eyes). The document is referenced
    by its SHA-256 (and the uploaded evidence with that hash, when there is one)."""

    class Kind(models.TextChoices):
        RETURN_TO_OWNER = "RETURN_TO_OWNER", "Return to the owner"
        RESTITUTION = "RESTITUTION", "Restitution to a victim"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey("intake.SeizureCase", on_delete=models.PROTECT,
                             related_name="release_orders")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    court = models.CharField(max_length=200)
    order_number = models.CharField(max_length=64)
    order_date = models.DateField()
    document_sha256 = models.CharField(max_length=64)
    document = models.ForeignKey("intake.Evidence", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    beneficiary = models.CharField(max_length=200)
    destination_address = models.CharField(max_length=90)
    network = models.CharField(max_length=16, choices=NETWORK_CHOICES)
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.PENDING)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(document_sha256__regex=r"^[0-9a-f]{64}$"),
                                   name="release_order_document_sha256_hex"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("recorded_by")),
                name="release_order_four_eyes"),
        ]

    def __str__(self):
        return f"{self.court} {self.order_number} → {self.destination_address}"


class TransferKind(models.TextChoices):
    RESERVE = "RESERVE", "Into a reserve wallet"
    RELEASE = "RELEASE", "Release by court order"


class Transfer(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey("intake.SeizureCase", on_delete=models.PROTECT,
                             related_name="transfers")
    # RESERVE: to a fresh address of a reserve wallet. RELEASE: to the address a court's
    # approved release order names (then no reserve wallet or reserve address).
    kind = models.CharField(max_length=16, choices=TransferKind.choices,
                            default=TransferKind.RESERVE)
    reserve_wallet = models.ForeignKey(ReserveWallet, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="transfers")
    destination = models.OneToOneField(ReserveAddress, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="transfer")
    release_order = models.ForeignKey(ReleaseOrder, null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="transfers")
    destination_address = models.CharField(max_length=90)
    network = models.CharField(max_length=16, choices=NETWORK_CHOICES)
    status = models.CharField(max_length=16, choices=TransferStatus.choices,
                              default=TransferStatus.PROPOSED, db_index=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="proposed_transfers")
    # The payload the quorum approves (canonical JSON) and its SHA-256.
    payload = models.JSONField()
    payload_hash = models.CharField(max_length=64)
    approvals_required = models.PositiveSmallIntegerField()
    input_total_sats = models.BigIntegerField()
    amount_sats = models.BigIntegerField()
    fee_sats = models.BigIntegerField()
    fee_rate_sat_vb = models.PositiveIntegerField()
    unsigned_psbt = models.TextField()
    unsigned_txid = models.CharField(max_length=64, db_index=True)
    combined_psbt = models.TextField(blank=True)
    final_tx_hex = models.TextField(blank=True)
    txid = models.CharField(max_length=64, blank=True, db_index=True)
    broadcast_attempted_at = models.DateTimeField(null=True, blank=True)
    block_hash = models.CharField(max_length=64, blank=True)
    block_height = models.PositiveIntegerField(null=True, blank=True)
    confirmations = models.PositiveIntegerField(default=0,
                                                help_text="As last derived from the node")
    failure_reason = models.TextField(blank=True)
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The transfer list's order, alone and under a status filter (keyset pages).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="transfer_newest_first"),
            models.Index(fields=["status", "-created_at", "-id"], name="transfer_status_newest"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount_sats__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(condition=Q(fee_sats__gte=0), name="transfer_fee_nonnegative"),
            models.CheckConstraint(
                condition=Q(input_total_sats=F("amount_sats") + F("fee_sats")),
                name="transfer_inputs_equal_amount_plus_fee"),
            models.UniqueConstraint(fields=["case"],
                                    condition=Q(status__in=OPEN_STATES),
                                    name="one_open_transfer_per_case"),
            models.CheckConstraint(
                condition=Q(kind="RESERVE", reserve_wallet__isnull=False,
                            destination__isnull=False, release_order__isnull=True)
                | Q(kind="RELEASE", reserve_wallet__isnull=True, destination__isnull=True,
                    release_order__isnull=False),
                name="transfer_destination_by_kind"),
        ]

    def __str__(self):
        return f"Transfer {self.public_id} ({self.status})"

    @property
    def is_locking(self):
        return self.status in LOCKING_STATES

    @property
    def may_be_on_the_node(self):
        """A fully signed transaction was sent and the node's answer is not known: it may
        be mined any time."""
        return bool(self.final_tx_hex and self.broadcast_attempted_at)


class TransferInput(models.Model):
    """A custody UTXO a transfer spends. `locked` is true while the transfer may still spend
    it; the partial unique index makes a second spending transfer impossible."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="inputs")
    txid = models.CharField(max_length=64)
    vout = models.PositiveIntegerField()
    value_sats = models.BigIntegerField()
    script_pubkey = models.CharField(max_length=140)
    locked = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["txid", "vout"], condition=Q(locked=True),
                                    name="custody_coin_locked_once"),
            models.UniqueConstraint(fields=["transfer", "txid", "vout"],
                                    name="transfer_input_once"),
            models.CheckConstraint(condition=Q(value_sats__gt=0), name="input_value_positive"),
        ]

    @property
    def outpoint(self):
        return (self.txid, self.vout)


class TransferApproval(models.Model):
    """One bank officer's approval of one exact payload. Only approvals whose payload_hash
    equals the transfer's current payload count."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="+")
    payload_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "approver", "payload_hash"],
                                    name="one_approval_per_officer_and_payload"),
        ]


class SignedPsbtUpload(models.Model):
    """A signed copy uploaded by a key holder's delegate, kept as evidence."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    psbt = models.TextField()
    sha256 = models.CharField(max_length=64)
    payload_hash = models.CharField(max_length=64)
    signer_fingerprints = models.JSONField(default=list)
    signatures_added = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


# --- deposits that no transfer explains -----------------------------------------------------
class FundSource(models.TextChoices):
    SEIZURE = "SEIZURE", "Confiscated in a criminal case"
    STATE_MINING = "STATE_MINING", "State mining"
    OTHER = "OTHER", "Other"


class Deposit(models.Model):
    class Status(models.TextChoices):
        UNATTRIBUTED = "UNATTRIBUTED", "Waiting for attribution"
        PROPOSED = "PROPOSED", "Attribution proposed, waiting for a second officer"
        ATTRIBUTED = "ATTRIBUTED", "Attributed"
        REVERSED = "REVERSED", "Reversed by a reorganisation"
        # Seen only in the mempool (or brought back there by a reorg) and gone before it
        # was attributed: never coins of the reserve, out of the attribution queue.
        DROPPED = "DROPPED", "Dropped from the mempool, never mined"
        REPLACED = "REPLACED", "Replaced in the mempool by another transaction"
        CONFLICTED = "CONFLICTED", "Double-spent by a mined transaction"

    # Still waiting for a decision: counted as on the node but not in the books.
    WAITING = (Status.UNATTRIBUTED, Status.PROPOSED)
    # The transaction is gone (unless a reorg or a rebroadcast brings it back).
    VANISHED = (Status.DROPPED, Status.REPLACED, Status.CONFLICTED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reserve_address = models.ForeignKey(ReserveAddress, on_delete=models.PROTECT,
                                        related_name="deposits")
    txid = models.CharField(max_length=64)
    vout = models.PositiveIntegerField()
    amount_sats = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices,
                              default=Status.UNATTRIBUTED)
    source = models.CharField(max_length=16, choices=FundSource.choices, blank=True)
    note = models.TextField(blank=True)
    confirmations = models.PositiveIntegerField(default=0)
    block_height = models.PositiveIntegerField(null=True, blank=True)
    # The transaction that took the deposit's inputs (REPLACED, CONFLICTED), when known.
    conflicting_txid = models.CharField(max_length=64, blank=True)
    # Four eyes: one officer says where it came from (attributed_by), another approves.
    attributed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    attributed_at = models.DateTimeField(null=True, blank=True)
    attribution_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                                blank=True, on_delete=models.PROTECT,
                                                related_name="+")
    attribution_approved_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-seen_at", "-id"]
        # The deposit list's order, alone and under a status filter (keyset pages).
        indexes = [
            models.Index(fields=["-seen_at", "-id"], name="deposit_newest_first"),
            models.Index(fields=["status", "-seen_at", "-id"], name="deposit_status_newest"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["txid", "vout"], name="deposit_outpoint_once"),
            models.CheckConstraint(condition=Q(amount_sats__gt=0), name="deposit_positive"),
            models.CheckConstraint(
                condition=Q(attribution_approved_by__isnull=True)
                | ~Q(attribution_approved_by=F("attributed_by")),
                name="deposit_attribution_four_eyes"),
        ]


# --- the reserve ledger (append-only, double entry) ----------------------------------------
class LedgerAccount(models.TextChoices):
    RESERVE = "RESERVE", "Reserve wallet holdings"
    CUSTODY = "CUSTODY", "Case custody (seized, held for the state)"
    NETWORK_FEES = "NETWORK_FEES", "Network fees paid"
    EXTERNAL = "EXTERNAL", "External source (state mining, other)"
    RELEASED = "RELEASED", "Released by court order (to the owner or a victim)"
    CUSTODIAN = "CUSTODIAN", "Held by the fund's custodian for the asset"


class JournalEntry(models.Model):
    """One balanced posting. Written at settlement (or attribution) and never edited; a
    reorg that removes a settled transfer writes a compensating entry that reverses it."""

    class Kind(models.TextChoices):
        TRANSFER_SETTLED = "TRANSFER_SETTLED", "Transfer settled"
        TRANSFER_REVERSED = "TRANSFER_REVERSED", "Transfer reversed (reorganisation)"
        DEPOSIT_ATTRIBUTED = "DEPOSIT_ATTRIBUTED", "Deposit attributed"
        DEPOSIT_REVERSED = "DEPOSIT_REVERSED", "Deposit reversed (reorganisation)"
        RELEASE_SETTLED = "RELEASE_SETTLED", "Release by court order settled"
        RELEASE_REVERSED = "RELEASE_REVERSED", "Release reversed (reorganisation)"
        HANDED_OVER = "HANDED_OVER", "Asset handed over without a transfer (receipt)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    asset = models.CharField(max_length=16, default="BTC")
    network = models.CharField(max_length=16, choices=NETWORK_CHOICES)
    transfer = models.ForeignKey(Transfer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="journal_entries")
    deposit = models.ForeignKey(Deposit, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="journal_entries")
    handover = models.ForeignKey("AssetHandover", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="journal_entries")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reversed_by")
    txid = models.CharField(max_length=128)  # an Ethereum txid is 0x + 64
    block_hash = models.CharField(max_length=64, blank=True)
    block_height = models.PositiveIntegerField(null=True, blank=True)
    memo = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "journal entries"


class LedgerLine(models.Model):
    """A line of a journal entry: positive is a debit, negative a credit; an entry's lines
    sum to zero. Dimensions (wallet, case, source) make the balances by each."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(max_length=16, choices=LedgerAccount.choices)
    amount_sats = models.BigIntegerField()
    reserve_wallet = models.ForeignKey(ReserveWallet, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="ledger_lines")
    reserve_address = models.ForeignKey(ReserveAddress, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="ledger_lines")
    case = models.ForeignKey("intake.SeizureCase", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="ledger_lines")
    source = models.CharField(max_length=16, choices=FundSource.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_sats=0), name="ledger_line_nonzero"),
        ]


# --- assets that leave without a transfer ---------------------------------------------------
class AssetHandover(models.Model):
    """An asset no chain adapter moves (USDT, ETH, a coin on another network…) leaving the
    agency's hands, with the receipt to prove it: handed to the fund's custodian for that
    asset, or released by an approved court order. Proposed by one bank officer, approved by
    another with a fresh second factor; only then is the asset's disposition recorded."""

    class Kind(models.TextChoices):
        TO_CUSTODIAN = "TO_CUSTODIAN", "Handed to the fund's custodian"
        RELEASE = "RELEASE", "Released by court order"

    class Status(models.TextChoices):
        PROPOSED = "PROPOSED", "Proposed, waiting for a second officer"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asset = models.ForeignKey("intake.SeizedAsset", on_delete=models.PROTECT,
                              related_name="handovers")
    case = models.ForeignKey("intake.SeizureCase", on_delete=models.PROTECT,
                             related_name="asset_handovers")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROPOSED)
    recipient = models.CharField(max_length=200, help_text="The custodian, or the beneficiary")
    release_order = models.ForeignKey(ReleaseOrder, null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="handovers")
    txid = models.CharField(max_length=128)
    amount = models.BigIntegerField(help_text="In the asset's smallest unit")
    receipt_sha256 = models.CharField(max_length=64)
    receipt = models.ForeignKey("intake.Evidence", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="handover_amount_positive"),
            models.CheckConstraint(condition=Q(receipt_sha256__regex=r"^[0-9a-f]{64}$"),
                                   name="handover_receipt_sha256_hex"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("proposed_by")),
                name="handover_four_eyes"),
            models.CheckConstraint(
                condition=Q(kind="TO_CUSTODIAN", release_order__isnull=True)
                | Q(kind="RELEASE", release_order__isnull=False),
                name="handover_release_has_its_order"),
            models.UniqueConstraint(fields=["asset"],
                                    condition=Q(status__in=["PROPOSED", "APPROVED"]),
                                    name="one_live_handover_per_asset"),
        ]


# --- valuation ----------------------------------------------------------------------------
class PriceRecord(models.Model):
    """A recorded price of one whole unit of an asset in KZT, with where it came from. Every
    valuation uses it, so it counts only once a second person approves it (four eyes)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting for a second person"
        ACTIVE = "ACTIVE", "Approved"
        REJECTED = "REJECTED", "Rejected"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    asset = models.CharField(max_length=16, default="BTC")
    kzt_per_unit = models.DecimalField(max_digits=20, decimal_places=2)
    source = models.CharField(max_length=200)
    observed_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-observed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kzt_per_unit__gt=0), name="price_positive"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("recorded_by")),
                name="price_four_eyes"),
        ]
        indexes = [models.Index(fields=["asset", "observed_at"], name="price_asset_time")]


class Valuation(models.Model):
    class Point(models.TextChoices):
        SEIZURE = "SEIZURE", "At seizure"
        CONFISCATION = "CONFISCATION", "At confiscation"
        SETTLEMENT = "SETTLEMENT", "At reserve entry (settlement)"
        RELEASE = "RELEASE", "At release (disposal)"

    case = models.ForeignKey("intake.SeizureCase", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="valuations")
    transfer = models.ForeignKey(Transfer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="valuations")
    point = models.CharField(max_length=16, choices=Point.choices)
    amount_sats = models.BigIntegerField()
    price = models.ForeignKey(PriceRecord, on_delete=models.PROTECT, related_name="+")
    value_kzt = models.DecimalField(max_digits=24, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the milestone happened (the price is the one in force then).
    at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]


class ValuationGap(models.Model):
    """A milestone that could not be valued when it happened: no approved price in force
    then. An open item (with an alert asking the bank to record the price) until a price
    observed at or before the milestone is recorded and approved (four eyes), which values
    it. Never a silent gap: one row per (case, transfer, point)."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Waiting for a price"
        RESOLVED = "RESOLVED", "Valued"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey("intake.SeizureCase", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="valuation_gaps")
    transfer = models.ForeignKey(Transfer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="valuation_gaps")
    point = models.CharField(max_length=16, choices=Valuation.Point.choices)
    asset = models.CharField(max_length=16, default="BTC")
    at = models.DateTimeField()
    amount_sats = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    valuation = models.OneToOneField(Valuation, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="gap")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "transfer", "point"],
                                    condition=Q(transfer__isnull=False),
                                    name="valuation_gap_once_per_transfer"),
            models.UniqueConstraint(fields=["case", "point"],
                                    condition=Q(transfer__isnull=True),
                                    name="valuation_gap_once_per_case"),
            models.CheckConstraint(condition=Q(status="OPEN") | Q(valuation__isnull=False),
                                   name="valuation_gap_resolved_by_a_valuation"),
        ]


# --- reconciliation -----------------------------------------------------------------------
class ReconciliationRun(models.Model):
    """The ledger against the node for one reserve wallet at one tip. A mismatch is an alert,
    never a correction."""

    wallet = models.ForeignKey(ReserveWallet, on_delete=models.PROTECT,
                               related_name="reconciliations")
    tip_height = models.PositiveIntegerField()
    tip_hash = models.CharField(max_length=64)
    ledger_sats = models.BigIntegerField()
    node_sats = models.BigIntegerField()
    in_flight_sats = models.BigIntegerField(default=0)
    unattributed_sats = models.BigIntegerField(default=0)
    difference_sats = models.BigIntegerField()
    addresses = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def balanced(self):
        return self.difference_sats == 0
