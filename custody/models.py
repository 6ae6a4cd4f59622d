import uuid

from django.db import models
from django.db.models import F, Q

from core.models import Agency

from .bitcoin import NETWORK_NAMES

NETWORK_CHOICES = [(n, n) for n in NETWORK_NAMES]


class CustodyWallet(models.Model):
    """An agency's watch-only M-of-N multisig descriptor (public keys only). Each case
    takes the next index: one custody address per case, never reused."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="custody_wallets")
    network = models.CharField(max_length=16, choices=NETWORK_CHOICES)
    label = models.CharField(max_length=200)
    descriptor = models.TextField(help_text="wsh(sortedmulti(M, xpub…/0/*, …))#checksum")
    threshold = models.PositiveSmallIntegerField()
    key_count = models.PositiveSmallIntegerField()
    next_index = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "network"], condition=Q(is_active=True),
                name="one_active_custody_wallet_per_agency_network",
            ),
            models.CheckConstraint(
                condition=Q(threshold__gte=1) & Q(threshold__lte=F("key_count")),
                name="custody_wallet_threshold_le_keys",
            ),
        ]

    def __str__(self):
        return f"{self.label} ({self.threshold}-of-{self.key_count}, {self.network})"
