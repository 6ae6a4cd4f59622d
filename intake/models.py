import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from chain.chains import BITCOIN
from core.bitcoin import NETWORK_NAMES
from core.models import Agency

NETWORK_CHOICES = [(n, n) for n in NETWORK_NAMES]


class CustodyWallet(models.Model):
    """An agency's custody wallet: its watch-only M-of-N multisig descriptor (public keys
    only), holding seized coins until they move to the reserve. Each case takes the next
    index: one custody address per case, never reused."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="custody_wallets")
    # The chain its coins live on (chain.chains) and that chain's network: "mainnet" is a
    # network of more than one chain, so the chain is part of what a wallet is for.
    chain = models.CharField(max_length=16, default=BITCOIN)
    network = models.CharField(max_length=16, choices=NETWORK_CHOICES)
    label = models.CharField(max_length=200)
    descriptor = models.TextField(help_text="wsh(sortedmulti(M, xpub…/0/*, …))#checksum")
    threshold = models.PositiveSmallIntegerField()
    key_count = models.PositiveSmallIntegerField()
    next_index = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "custody_custodywallet"  # created by custody; moved here, table kept
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "chain", "network"], condition=Q(is_active=True),
                name="one_active_custody_wallet_per_agency_chain_network",
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=1) & Q(threshold__lte=F("key_count")),
                name="custody_wallet_threshold_le_keys",
            ),
        ]

    def __str__(self):
        return f"{self.label} ({self.threshold}-of-{self.key_count}, {self.network})"


class CaseStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    SUBMITTED = "SUBMITTED", _("Submitted")
    UNDER_REVIEW = "UNDER_REVIEW", _("Under review")
    RETURNED_FOR_CORRECTION = "RETURNED_FOR_CORRECTION", _("Returned for correction")
    REJECTED = "REJECTED", _("Rejected")
    CONFISCATION_APPROVED = "CONFISCATION_APPROVED", _("Confiscation approved")
    ON_APPEAL = "ON_APPEAL", _("On appeal")
    IN_TRANSFER = "IN_TRANSFER", _("In transfer")
    IN_RESERVE = "IN_RESERVE", _("In reserve")
    CLOSED = "CLOSED", _("Closed")


class SeizureCase(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="cases")
    case_number = models.CharField(max_length=64)
    status = models.CharField(max_length=32, choices=CaseStatus.choices,
                              default=CaseStatus.DRAFT, db_index=True)
    # Legal basis of the seizure
    warrant_number = models.CharField(max_length=64)
    warrant_date = models.DateField()
    seizure_protocol_number = models.CharField(max_length=64, blank=True)
    seizure_date = models.DateField(null=True, blank=True)
    # From whom
    owner_name = models.CharField(max_length=200)
    owner_identifier = models.CharField(max_length=64, blank=True,
                                        help_text="IIN, passport or company BIN")
    owner_details = models.TextField(blank=True)
    description = models.TextField(blank=True)
    # Custody: the case's own address, derived at its own index of the agency's wallet
    custody_wallet = models.ForeignKey(CustodyWallet, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="cases")
    custody_index = models.PositiveIntegerField(null=True, blank=True)
    custody_address = models.CharField(max_length=90, blank=True)

    filed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="filed_cases")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="reviewed_cases")
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The case lists' order, alone and under each role's visibility filter.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="case_newest_first"),
            models.Index(fields=["agency", "-created_at", "-id"], name="case_agency_newest"),
            models.Index(fields=["status", "-created_at", "-id"], name="case_status_newest"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["agency", "case_number"],
                                    name="case_number_unique_per_agency"),
            models.UniqueConstraint(fields=["custody_wallet", "custody_index"],
                                    name="custody_index_once_per_wallet"),
            models.UniqueConstraint(fields=["custody_address"], condition=~Q(custody_address=""),
                                    name="custody_address_one_case"),
            models.CheckConstraint(
                condition=Q(custody_wallet__isnull=True, custody_index__isnull=True)
                | Q(custody_wallet__isnull=False, custody_index__isnull=False),
                name="custody_wallet_and_index_together",
            ),
        ]

    def __str__(self):
        return f"{self.case_number} ({self.get_status_display()})"


class AssetKind(models.TextChoices):
    BTC = "BTC", "Bitcoin"
    ETH = "ETH", "Ether"
    USDT = "USDT", "Tether"
    OTHER = "OTHER", _("Other (recorded, not tracked on chain)")


class VerificationStatus(models.TextChoices):
    PENDING = "PENDING", _("Waiting for the chain")
    VERIFIED = "VERIFIED", _("Verified on chain")
    DISCREPANCY = "DISCREPANCY", _("Discrepancy")
    UNTRACKED = "UNTRACKED", _("Not tracked on chain")


class Disposition(models.TextChoices):
    """Where a seized asset went. A case reaches IN_RESERVE or CLOSED only when each of its
    assets has one (nothing left behind)."""

    HELD = "", _("Held, not yet disposed of")
    IN_RESERVE = "IN_RESERVE", _("Settled in a reserve wallet")
    WITH_CUSTODIAN = "WITH_CUSTODIAN", _("Handed to the fund's custodian")
    RELEASED = "RELEASED", _("Released by court order")


class SeizedAsset(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(SeizureCase, on_delete=models.PROTECT, related_name="assets")
    asset = models.CharField(max_length=16, choices=AssetKind.choices)
    # The chain the asset lives on (chain.chains: bitcoin, ethereum, tron; blank for an
    # OTHER asset on none Qazyna knows) and that chain's network.
    chain = models.CharField(max_length=16, blank=True)
    network = models.CharField(max_length=32, help_text="BTC: mainnet/testnet/signet/regtest")
    asset_label = models.CharField(max_length=64, blank=True, help_text="For OTHER assets")
    declared_amount = models.BigIntegerField(help_text="Integer, in the smallest unit")
    source_address = models.CharField(max_length=90, blank=True,
                                      help_text="Where the coins were seized from, if known")
    custody_address = models.CharField(max_length=90, blank=True)
    verification_status = models.CharField(max_length=16, choices=VerificationStatus.choices,
                                           default=VerificationStatus.PENDING)
    observed_amount = models.BigIntegerField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    # A legal officer's explicit acceptance of a discrepancy: the observed amount they saw
    # and accepted, and why. It holds only while the observed amount is still that one.
    accepted_amount = models.BigIntegerField(null=True, blank=True)
    acceptance_reason = models.TextField(blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True,
                                   default=Disposition.HELD)
    # What disposed of it: a transfer's or a custodian receipt's public id.
    disposition_ref = models.CharField(max_length=64, blank=True)
    disposed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(declared_amount__gt=0),
                                   name="declared_amount_positive"),
            models.CheckConstraint(
                condition=Q(disposition="", disposition_ref="", disposed_at__isnull=True)
                | (~Q(disposition="") & ~Q(disposition_ref="") & Q(disposed_at__isnull=False)),
                name="asset_disposition_with_its_record"),
            models.CheckConstraint(condition=Q(declared_amount__lte=21_000_000 * 100_000_000)
                                   | ~Q(asset="BTC"), name="btc_amount_within_supply"),
        ]
        indexes = [
            models.Index(fields=["next_check_at"], condition=Q(next_check_at__isnull=False),
                         name="asset_due_for_check"),
        ]

    @property
    def is_chain_tracked(self):
        """Watched through a chain adapter at the case's custody address (its way out is a
        transfer); otherwise its way out is the custodian's receipt."""
        return bool(self.custody_address)

    @property
    def is_disposed(self):
        return self.disposition != Disposition.HELD

    @property
    def discrepancy_accepted(self) -> bool:
        """A discrepancy a legal officer accepted at the amount observed now."""
        return (self.verification_status == VerificationStatus.DISCREPANCY
                and self.accepted_amount is not None
                and self.accepted_amount == (self.observed_amount or 0))

    @property
    def may_leave_custody(self) -> bool:
        """Verified on chain, or a discrepancy accepted at the amount observed now: the
        only assets a transfer may be proposed from."""
        if not self.is_chain_tracked:
            return True
        return (self.verification_status == VerificationStatus.VERIFIED
                or self.discrepancy_accepted)

    def __str__(self):
        return f"{self.declared_amount} {self.asset} ({self.network})"


class SweepTransaction(models.Model):
    """A transaction the clerk says moved the seized coins into the case's custody address."""

    asset = models.ForeignKey(SeizedAsset, on_delete=models.PROTECT, related_name="sweeps")
    txid = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "txid"], name="sweep_txid_once_per_asset"),
        ]

    def __str__(self):
        return self.txid


def evidence_upload_to(instance, filename):
    return f"evidence/{instance.case.public_id}/{uuid.uuid4().hex}"


class Evidence(models.Model):
    class Kind(models.TextChoices):
        """What a document is to the law: the seizure rests on a warrant or a seizure
        protocol (a case is submitted only with one), a confiscation order on the court's
        order document (the order references it by its hash)."""

        WARRANT = "WARRANT", _("Warrant or court decision allowing the seizure")
        SEIZURE_PROTOCOL = "SEIZURE_PROTOCOL", _("Seizure protocol")
        COURT_ORDER = "COURT_ORDER", _("Court order")
        OTHER = "OTHER", _("Other evidence")

    # The documents a case's seizure rests on (case_submit requires one of them).
    SEIZURE_BASIS = (Kind.WARRANT, Kind.SEIZURE_PROTOCOL)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(SeizureCase, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    file = models.FileField(upload_to=evidence_upload_to, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "evidence"
        constraints = [
            models.UniqueConstraint(fields=["case", "sha256"], name="evidence_once_per_case"),
        ]


class HandoverEntry(models.Model):
    """The chain of custody of a physical item, one handover at a time: who held the device,
    the sealed seed record or the paper wallet, from when to when, under which seal. (Not
    the coins' custody: that is the case's custody address in the agency's CustodyWallet.)"""

    class ItemKind(models.TextChoices):
        DEVICE = "DEVICE", _("Hardware wallet or device")
        SEED = "SEED", _("Seed phrase record (sealed)")
        PAPER_WALLET = "PAPER_WALLET", _("Paper wallet")
        MEDIA = "MEDIA", _("Storage media")
        OTHER = "OTHER", _("Other")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(SeizureCase, on_delete=models.PROTECT,
                             related_name="handovers")
    item_kind = models.CharField(max_length=16, choices=ItemKind.choices)
    item_description = models.CharField(max_length=500)
    holder = models.CharField(max_length=200)
    held_from = models.DateTimeField()
    held_until = models.DateTimeField(null=True, blank=True)
    seal_number = models.CharField(max_length=64, blank=True)
    witnesses = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "intake_custodyentry"  # the model's first name; table kept
        ordering = ["held_from", "id"]
        verbose_name = "chain-of-custody handover"
        constraints = [
            models.CheckConstraint(
                condition=Q(held_until__isnull=True) | Q(held_until__gt=F("held_from")),
                name="custody_entry_period_forward",
            ),
        ]


class ConfiscationOrder(models.Model):
    class Finality(models.TextChoices):
        FINAL = "FINAL", _("Final")
        UNDER_APPEAL = "UNDER_APPEAL", _("Under appeal")

    case = models.OneToOneField(SeizureCase, on_delete=models.PROTECT,
                                related_name="confiscation_order")
    court = models.CharField(max_length=200)
    order_number = models.CharField(max_length=64)
    order_date = models.DateField()
    document_sha256 = models.CharField(max_length=64)
    # The uploaded order document of the case whose SHA-256 is document_sha256 (orders
    # recorded before documents were required have none).
    document = models.ForeignKey(Evidence, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    finality = models.CharField(max_length=16, choices=Finality.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(document_sha256__regex=r"^[0-9a-f]{64}$"),
                                   name="order_document_sha256_hex"),
        ]


class AlertStatus(models.TextChoices):
    OPEN = "OPEN", _("Open")
    ACKNOWLEDGED = "ACKNOWLEDGED", _("Acknowledged")
    RESOLVED = "RESOLVED", _("Resolved")


class CaseAlert(models.Model):
    """Something on a case a person must look at: a discrepancy, an unapproved spend…
    Open alerts are unique per (case, dedup_key), so a watcher that runs twice raises one."""

    class Kind(models.TextChoices):
        INTAKE_DISCREPANCY = "INTAKE_DISCREPANCY", _("Intake discrepancy")
        UNAPPROVED_SPEND = "UNAPPROVED_SPEND", _("Unapproved spend from custody")
        REORG = "REORG", _("Reorganisation")
        CONFLICT = "CONFLICT", _("Conflicting transaction")
        DOUBLE_SPEND = "DOUBLE_SPEND", _("Double spend of a sweep")
        REPLACED = "REPLACED", _("Sweep replaced before it confirmed")
        TRANSFER_ON_HOLD = "TRANSFER_ON_HOLD", _("Transfer on hold: an input vanished")
        RECONCILIATION = "RECONCILIATION", _("Reconciliation mismatch")
        TAMPERING = "TAMPERING", _("Stored data differs from what was approved")
        MISSING_PRICE = "MISSING_PRICE", _("No price to value a milestone")
        DEPOSIT_VANISHED = "DEPOSIT_VANISHED", _("Deposit gone while its attribution "
                                                 "was pending")
        OTHER = "OTHER", _("Other")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(SeizureCase, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="alerts")
    # The case's agency, copied when the alert is raised (a case never changes agency, an
    # alert never changes case): a clerk's alert list is then one index range
    # (alert_agency_newest), not every alert joined to its case and most thrown away.
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", db_index=False, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    dedup_key = models.CharField(max_length=200)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Who was told, who answered (intake.services.alerts; the table in intake.transitions).
    status = models.CharField(max_length=16, choices=AlertStatus.choices,
                              default=AlertStatus.OPEN, db_index=True)
    status_reason = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalate_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        # The alert list's order, all and open only (keyset pages).
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="alert_newest_first"),
            models.Index(fields=["-created_at", "-id"], condition=Q(resolved_at__isnull=True),
                         name="alert_open_newest"),
            models.Index(fields=["agency", "-created_at", "-id"], name="alert_agency_newest"),
            # The escalation pass's due alerts.
            models.Index(fields=["escalate_at"], condition=Q(escalate_at__isnull=False),
                         name="alert_due_for_escalation"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["kind", "dedup_key"],
                                    condition=Q(resolved_at__isnull=True),
                                    name="one_open_alert_per_key"),
            models.CheckConstraint(
                condition=Q(status="RESOLVED", resolved_at__isnull=False)
                | (~Q(status="RESOLVED") & Q(resolved_at__isnull=True)),
                name="alert_resolved_at_with_status"),
            models.CheckConstraint(
                condition=Q(case__isnull=True, agency__isnull=True)
                | Q(case__isnull=False, agency__isnull=False),
                name="alert_agency_with_case"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.case is not None and self.agency_id is None:  # derived: the case's agency
            self.agency_id = self.case.agency_id
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status != AlertStatus.RESOLVED


class AlertDelivery(models.Model):
    """One message about an alert on one channel at one escalation level: an email to the
    people responsible, or the signed webhook to the bank's monitoring. Unique per (alert,
    channel, level), so raising or escalating twice sends once; the task claims the row
    (compare-and-swap on next_attempt_at) and retries with backoff until it is SENT or
    gives up (FAILED)."""

    class Channel(models.TextChoices):
        EMAIL = "EMAIL", _("Email")
        WEBHOOK = "WEBHOOK", _("Webhook")

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Waiting to be sent")
        SENT = "SENT", _("Sent")
        FAILED = "FAILED", _("Failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    alert = models.ForeignKey(CaseAlert, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    level = models.PositiveSmallIntegerField()
    event = models.CharField(max_length=32)  # alert.raised | alert.escalated
    recipients = models.JSONField(default=list, blank=True)  # usernames and addresses
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel", "level"],
                                    name="alert_delivery_once_per_level"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="PENDING"),
                         name="alert_delivery_due"),
        ]
