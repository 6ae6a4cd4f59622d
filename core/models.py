import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Agency(models.Model):
    """A law-enforcement agency, prosecutor's office, or the National Bank custody unit."""

    class Kind(models.TextChoices):
        LAW_ENFORCEMENT = "law_enforcement", _("Law enforcement")
        PROSECUTOR = "prosecutor", _("Prosecutor's office / court registry")
        NATIONAL_BANK = "national_bank", _("National Bank")
        AUDIT = "audit", _("Audit")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.LAW_ENFORCEMENT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class User(AbstractUser):
    """A person. Roles are groups (see core.roles); the agency bounds what a clerk sees."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )

    def has_role(self, role):
        return self.is_active and self.groups.filter(name=role).exists()

    @property
    def role_names(self):
        return sorted(self.groups.values_list("name", flat=True))


class AuditChainHead(models.Model):
    """A single row: the last event's sequence and hash. Locking it orders appends."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton"),
        ]


class AuditEvent(models.Model):
    """Append-only. hash = SHA-256(prev_hash ‖ canonical). Never updated or deleted."""

    seq = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The exact text hashed after prev_hash (core.audit.canonical_event of the fields above),
    # written once by record_event. On PostgreSQL a CHECK constraint (migration 0007) refuses
    # a row whose canonical text does not equal its fields, so verification hashes what is
    # stored instead of rebuilding the JSON of every event.
    canonical = models.TextField(editable=False)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id", "seq"])]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditVerification(models.Model):
    """One run of the chain verifier, kept so that no web request ever walks the chain: the
    API shows the latest run and its age, and an incremental run starts where the latest
    one ended if it was good. Written once, never changed (PostgreSQL refuses UPDATE and
    DELETE, as for the record itself)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    full = models.BooleanField(help_text="From the first event, not from the previous run")
    mode = models.CharField(max_length=16, help_text="stored: hashed the stored canonical "
                            "text; recompute: rebuilt it from each event's fields")
    start_seq = models.BigIntegerField(help_text="Verified the events after this one")
    events_read = models.BigIntegerField()
    ok = models.BooleanField()
    checked = models.BigIntegerField(help_text="Events known intact, from the first")
    last_hash = models.CharField(max_length=64, help_text="The hash of event #checked")
    broken_seq = models.BigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        state = "OK" if self.ok else f"BROKEN at #{self.broken_seq}"
        return f"{state} through #{self.checked} ({self.finished_at:%Y-%m-%d %H:%M})"


class IdempotencyRecord(models.Model):
    """The stored reply to a state-moving POST, replayed when the same key comes back."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)  # null: in flight

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user"),
        ]


class RoleGrant(models.Model):
    """A request to grant or revoke a role, decided by a second admin (four eyes, DESIGN §1).
    Roles change only through core.services.roles; nobody decides their own roles."""

    class Action(models.TextChoices):
        GRANT = "GRANT", "Grant"
        REVOKE = "REVOKE", "Revoke"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting for a second admin"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="role_grants")
    role = models.CharField(max_length=32)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.GRANT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField()
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(requested_by=models.F("user")),
                                   name="role_grant_not_for_oneself"),
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | (~models.Q(decided_by=models.F("requested_by"))
                   & ~models.Q(decided_by=models.F("user"))),
                name="role_grant_four_eyes"),
            models.UniqueConstraint(fields=["user", "role"],
                                    condition=models.Q(status="PENDING"),
                                    name="one_pending_role_grant_per_user_role"),
        ]

    def __str__(self):
        return f"{self.action} {self.role} for {self.user} ({self.status})"


class ApiToken(models.Model):
    """A machine client's bearer token: stored as its SHA-256 (the token itself is shown
    once), expiring, revocable. Checking one is a hash and an indexed lookup: no password
    hashing per request. second_factor: issued after a second-factor code, so an officer's
    token carries the session's verification."""

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    second_factor = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def second_factor_verified(self):
        return self.second_factor
