"""Every write of the intake side. One action, one function, same shape every time:
transaction → lock the row → check who and the transition table → save → audit event in
the same transaction → follow-up work on commit."""

import hashlib
import logging

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from chain.services import watch_address, watch_transaction
from core.audit import record_event
from core.bitcoin import (
    MultisigDescriptor,
    build_multisig_descriptor,
    parse_multisig_descriptor,
    refuse_private_keys,
    validate_address,
    validate_sats,
    validate_txid,
)
from core.errors import (
    Conflict,
    ErrorCode,
    PermissionRefused,
    TransitionNotAllowed,
    ValidationFailed,
)
from core.roles import Role, require_role, roles_of
from core.tasks import enqueue

from .models import (
    AssetKind,
    CaseAlert,
    CaseStatus,
    ConfiscationOrder,
    CustodyEntry,
    CustodyWallet,
    Evidence,
    SeizedAsset,
    SeizureCase,
    SweepTransaction,
    VerificationStatus,
)
from .transitions import CASE_TRANSITIONS, EDITABLE_STATES

log = logging.getLogger(__name__)

CASE_FIELDS = ("case_number", "warrant_number", "warrant_date", "seizure_protocol_number",
               "seizure_date", "owner_name", "owner_identifier", "owner_details", "description")


# --- who may act ------------------------------------------------------------------------
def _require_role(actor, *roles):
    if actor.is_superuser and Role.ADMIN in roles:
        return
    if not roles_of(actor) & set(roles):
        raise PermissionRefused(f"This needs the role {' or '.join(roles)}.")


def _require_agency_clerk(actor, case):
    _require_role(actor, Role.CLERK)
    if actor.agency_id != case.agency_id:
        raise PermissionRefused("Only clerks of the case's agency may change it.")


def _require_reviewer(actor, case):
    _require_role(actor, Role.LEGAL_OFFICER)
    if case.filed_by_id == actor.pk:
        raise PermissionRefused("You filed this case: another legal officer must review it.",
                                code=ErrorCode.OWN_CASE)


def _snapshot(case):
    return {"status": case.status, "reviewer": case.reviewer_id}


def _require_state(case, states, target):
    """For commands narrower than the table (reject is a review verdict, not an appeal's)."""
    if case.status not in states:
        raise TransitionNotAllowed(entity="case", current=case.status, target=target)


def _locked(case):
    return SeizureCase.objects.select_for_update().get(pk=case.pk)


def _move(case, *, target, actor, action, reason="", after_extra=None):
    """Write one transition on a locked case. Caller holds the transaction and the lock."""
    CASE_TRANSITIONS.check(case.status, target)
    before = {"status": case.status}
    case.status = target
    case.status_reason = reason or ""
    case.status_changed_at = timezone.now()
    case.save(update_fields=["status", "status_reason", "status_changed_at", "reviewer",
                             "updated_at"])
    record_event(actor=actor, action=action, obj=case, before=before,
                 after={"status": target, **(after_extra or {})}, reason=reason)
    return case


# --- the agencies' custody wallets ------------------------------------------------------
def custody_wallet_register(*, actor, agency, network, label, threshold=None, keys=None,
                            descriptor=None):
    """Register an agency's watch-only custody wallet from xpubs (M-of-N) or a ready
    wsh(sortedmulti(...)) descriptor. Public keys only; any private key is refused."""
    require_role(actor, Role.ADMIN)
    refuse_private_keys({"label": label, "keys": keys or [], "descriptor": descriptor or ""})
    if descriptor:
        parsed = parse_multisig_descriptor(descriptor, network)
    else:
        parsed = build_multisig_descriptor(threshold=threshold, keys=keys or [], network=network)
    try:
        with transaction.atomic():
            wallet = CustodyWallet.objects.create(
                agency=agency, network=network, label=label, descriptor=parsed.text,
                threshold=parsed.threshold, key_count=parsed.key_count,
            )
            record_event(actor=actor, action="custody_wallet.registered", obj=wallet,
                         after={"agency": agency.code, "network": network,
                                "descriptor": parsed.text, "label": label})
    except IntegrityError:
        raise Conflict("The agency already has an active custody wallet on this network.",
                       code=ErrorCode.DUPLICATE) from None
    return wallet


# --- cases --------------------------------------------------------------------------------
def case_create(*, actor, data):
    _require_role(actor, Role.CLERK)
    if actor.agency_id is None:
        raise PermissionRefused("A clerk must belong to an agency to file cases.")
    refuse_private_keys(data)
    fields = {k: data[k] for k in CASE_FIELDS if k in data}
    try:
        with transaction.atomic():
            case = SeizureCase.objects.create(agency_id=actor.agency_id, filed_by=actor,
                                              status=CaseStatus.DRAFT, **fields)
            record_event(actor=actor, action="case.created", obj=case,
                         after={"case_number": case.case_number, "status": case.status,
                                "agency": case.agency.code})
    except IntegrityError:
        raise ValidationFailed("This agency already has a case with this number.",
                               code=ErrorCode.DUPLICATE, field="case_number") from None
    return case


def case_update(*, case, actor, data):
    refuse_private_keys(data)
    try:
        with transaction.atomic():
            case = _locked(case)
            _require_agency_clerk(actor, case)
            if case.status not in EDITABLE_STATES:
                raise Conflict(f"A case in state {case.status} can no longer be edited.",
                               code=ErrorCode.INVALID_TRANSITION)
            changed = {k: v for k, v in data.items() if k in CASE_FIELDS
                       and getattr(case, k) != v}
            if not changed:
                return case
            before = {k: getattr(case, k) for k in changed}
            for key, value in changed.items():
                setattr(case, key, value)
            case.save(update_fields=[*changed, "updated_at"])
            record_event(actor=actor, action="case.updated", obj=case, before=before,
                         after=changed)
    except IntegrityError:
        raise ValidationFailed("This agency already has a case with this number.",
                               code=ErrorCode.DUPLICATE, field="case_number") from None
    return case


@transaction.atomic
def case_submit(*, case, actor):
    case = _locked(case)
    _require_agency_clerk(actor, case)
    CASE_TRANSITIONS.check(case.status, CaseStatus.SUBMITTED)
    if not case.assets.exists():
        raise Conflict("Record at least one seized asset before submitting.",
                       code=ErrorCode.CONFLICT)
    return _move(case, target=CaseStatus.SUBMITTED, actor=actor, action="case.submitted")


@transaction.atomic
def case_start_review(*, case, actor):
    case = _locked(case)
    _require_reviewer(actor, case)
    CASE_TRANSITIONS.check(case.status, CaseStatus.UNDER_REVIEW)
    case.reviewer = actor
    return _move(case, target=CaseStatus.UNDER_REVIEW, actor=actor, action="case.review_started")


def _require_own_review(actor, case):
    _require_reviewer(actor, case)
    if case.status == CaseStatus.UNDER_REVIEW and case.reviewer_id not in (None, actor.pk):
        raise PermissionRefused("Another legal officer has taken this case for review.")


def _require_reason(reason):
    if not (reason or "").strip():
        raise ValidationFailed("A reason is required.", code=ErrorCode.INVALID, field="reason")
    refuse_private_keys(reason, "reason")


@transaction.atomic
def case_return_for_correction(*, case, actor, reason):
    _require_reason(reason)
    case = _locked(case)
    _require_own_review(actor, case)
    return _move(case, target=CaseStatus.RETURNED_FOR_CORRECTION, actor=actor,
                 action="case.returned", reason=reason)


@transaction.atomic
def case_reject(*, case, actor, reason):
    _require_reason(reason)
    case = _locked(case)
    _require_own_review(actor, case)
    _require_state(case, {CaseStatus.UNDER_REVIEW}, CaseStatus.REJECTED)
    return _move(case, target=CaseStatus.REJECTED, actor=actor, action="case.rejected",
                 reason=reason)


@transaction.atomic
def case_approve_confiscation(*, case, actor, court, order_number, order_date,
                              document_sha256, finality, reason=""):
    """Record the court's confiscation order. A final order approves confiscation; an
    order under appeal puts the case ON_APPEAL, which freezes transfers."""
    refuse_private_keys({"court": court, "order_number": order_number, "reason": reason})
    case = _locked(case)
    _require_own_review(actor, case)
    # An order is recorded once, at review.
    _require_state(case, {CaseStatus.UNDER_REVIEW}, CaseStatus.CONFISCATION_APPROVED)
    target = (CaseStatus.CONFISCATION_APPROVED if finality == ConfiscationOrder.Finality.FINAL
              else CaseStatus.ON_APPEAL)
    CASE_TRANSITIONS.check(case.status, target)
    order = ConfiscationOrder.objects.create(
        case=case, court=court, order_number=order_number, order_date=order_date,
        document_sha256=document_sha256.lower(), finality=finality, recorded_by=actor,
    )
    return _move(case, target=target, actor=actor, action="case.confiscation_approved",
                 reason=reason, after_extra={
                     "order": {"court": court, "order_number": order_number,
                               "order_date": str(order_date), "finality": finality,
                               "document_sha256": order.document_sha256}})


@transaction.atomic
def case_record_appeal(*, case, actor, reason):
    _require_reason(reason)
    case = _locked(case)
    _require_reviewer(actor, case)
    # An appeal is against a recorded order (the review itself records one under appeal).
    _require_state(case, {CaseStatus.CONFISCATION_APPROVED}, CaseStatus.ON_APPEAL)
    ConfiscationOrder.objects.filter(case=case).update(
        finality=ConfiscationOrder.Finality.UNDER_APPEAL)
    return _move(case, target=CaseStatus.ON_APPEAL, actor=actor, action="case.appealed",
                 reason=reason)


class AppealOutcome:
    UPHELD = "UPHELD"
    OVERTURNED = "OVERTURNED"
    CHOICES = (UPHELD, OVERTURNED)


@transaction.atomic
def case_resolve_appeal(*, case, actor, outcome, reason):
    _require_reason(reason)
    case = _locked(case)
    _require_reviewer(actor, case)
    _require_state(case, {CaseStatus.ON_APPEAL}, CaseStatus.CONFISCATION_APPROVED
                   if outcome == AppealOutcome.UPHELD else CaseStatus.REJECTED)
    if outcome == AppealOutcome.UPHELD:
        CASE_TRANSITIONS.check(case.status, CaseStatus.CONFISCATION_APPROVED)
        if not ConfiscationOrder.objects.filter(case=case).exists():
            raise Conflict("There is no confiscation order to uphold.")
        ConfiscationOrder.objects.filter(case=case).update(
            finality=ConfiscationOrder.Finality.FINAL)
        return _move(case, target=CaseStatus.CONFISCATION_APPROVED, actor=actor,
                     action="case.appeal_upheld", reason=reason)
    if outcome == AppealOutcome.OVERTURNED:
        return _move(case, target=CaseStatus.REJECTED, actor=actor,
                     action="case.appeal_overturned", reason=reason)
    raise ValidationFailed("outcome is UPHELD or OVERTURNED.", field="outcome")


@transaction.atomic
def case_close(*, case, actor, reason):
    _require_reason(reason)
    case = _locked(case)
    if case.status == CaseStatus.REJECTED:
        _require_role(actor, Role.LEGAL_OFFICER)
    else:
        _require_role(actor, Role.BANK_OFFICER, Role.LEGAL_OFFICER)
    return _move(case, target=CaseStatus.CLOSED, actor=actor, action="case.closed",
                 reason=reason)


def case_move_by_system(*, case, target, actor=None, action, reason=""):
    """For custody's services (transfer proposed, cancelled, settled, reorged): the same
    lock, table and audit, called inside the caller's transaction."""
    case = _locked(case)
    if case.status == target:
        return case
    return _move(case, target=target, actor=actor, action=action, reason=reason)


# --- assets and sweeps ------------------------------------------------------------------
def _allocate_custody_address(case, network):
    """The case's own custody address, at its own index of the agency's wallet. Called
    with the case locked; the wallet row is locked so two cases never share an index."""
    if case.custody_address:
        if case.custody_wallet.network != network:
            raise Conflict("This case's custody address is on "
                           f"{case.custody_wallet.network}, not {network}.")
        return case.custody_address
    wallet = (CustodyWallet.objects.select_for_update()
              .filter(agency_id=case.agency_id, network=network, is_active=True).first())
    if wallet is None:
        raise Conflict(f"The agency has no active custody wallet on {network}: an admin "
                       "must register its public descriptor first.",
                       code=ErrorCode.CONFLICT)
    descriptor = MultisigDescriptor(wallet.descriptor, wallet.threshold, wallet.key_count)
    index = wallet.next_index
    case.custody_wallet, case.custody_index = wallet, index
    case.custody_address = descriptor.address_at(index, network)
    wallet.next_index = index + 1
    wallet.save(update_fields=["next_index"])
    case.save(update_fields=["custody_wallet", "custody_index", "custody_address", "updated_at"])
    record_event(actor=None, action="case.custody_address_assigned", obj=case,
                 after={"wallet": str(wallet.public_id), "index": index,
                        "address": case.custody_address})
    # Watched from now on: a spend from it before any verification is still an alarm.
    watch_address(address=case.custody_address, purpose="custody", ref=str(case.public_id))
    return case.custody_address


@transaction.atomic
def asset_add(*, case, actor, asset, network, declared_amount, asset_label="",
              source_address=""):
    refuse_private_keys({"network": network, "asset_label": asset_label,
                         "source_address": source_address})
    if source_address and asset == AssetKind.BTC:
        validate_address(source_address, network)
    case = _locked(case)
    _require_agency_clerk(actor, case)
    if case.status not in EDITABLE_STATES:
        raise Conflict(f"Assets can't be added to a case in state {case.status}.",
                       code=ErrorCode.INVALID_TRANSITION)
    if asset == AssetKind.BTC:
        declared_amount = validate_sats(declared_amount)
        custody_address = ""
        tracked = network == settings.BITCOIN_NETWORK
        if tracked:
            custody_address = _allocate_custody_address(case, network)
    else:
        if isinstance(declared_amount, bool) or not isinstance(declared_amount, int) \
                or declared_amount <= 0:
            raise ValidationFailed("An amount is a positive integer of the smallest unit.",
                                   code=ErrorCode.INVALID_AMOUNT, field="declared_amount")
        custody_address, tracked = "", False
    seized = SeizedAsset.objects.create(
        case=case, asset=asset, network=network, asset_label=asset_label,
        declared_amount=declared_amount, custody_address=custody_address,
        source_address=source_address, verification_status=(VerificationStatus.PENDING if tracked
                             else VerificationStatus.UNTRACKED),
    )
    record_event(actor=actor, action="asset.added", obj=seized,
                 after={"case": str(case.public_id), "asset": asset, "network": network,
                        "declared_amount": declared_amount, "custody_address": custody_address})
    return seized


@transaction.atomic
def sweep_record(*, asset, actor, txid):
    txid = validate_txid(txid)
    case = _locked(asset.case)
    _require_agency_clerk(actor, case)
    if case.status not in EDITABLE_STATES | {CaseStatus.SUBMITTED, CaseStatus.UNDER_REVIEW}:
        raise Conflict(f"Sweeps can't be recorded on a case in state {case.status}.",
                       code=ErrorCode.INVALID_TRANSITION)
    asset = SeizedAsset.objects.select_for_update().get(pk=asset.pk)
    if not asset.is_chain_tracked:
        raise Conflict("This asset is not tracked on chain; no sweep to record.")
    if SweepTransaction.objects.filter(asset=asset, txid=txid).exists():
        raise ValidationFailed("This sweep is already recorded.", code=ErrorCode.DUPLICATE,
                               field="txid")
    sweep = SweepTransaction.objects.create(asset=asset, txid=txid, recorded_by=actor)
    # Tracked like any watched transaction: a reorg or double spend of the sweep is seen.
    watch_transaction(txid=txid, purpose="sweep", ref=str(asset.public_id))
    asset.verification_status = VerificationStatus.PENDING
    asset.next_check_at = timezone.now()
    asset.save(update_fields=["verification_status", "next_check_at"])
    record_event(actor=actor, action="asset.sweep_recorded", obj=asset,
                 after={"txid": txid, "case": str(case.public_id)})
    transaction.on_commit(lambda: queue_asset_check(asset.pk))
    return sweep


def queue_asset_check(asset_id: int) -> None:
    """Ask a worker to look at the chain now; if this is lost (broker down), the asset's
    next_check_at makes the beat sweeper re-drive it."""
    enqueue("intake.verify_asset", asset_id)


# --- evidence and chain of custody ------------------------------------------------------
_SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
]


def detect_content_type(head):
    for magic, content_type in _SIGNATURES:
        if head.startswith(magic):
            return content_type
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
    return "application/json" if text.lstrip().startswith(("{", "[")) else "text/plain"


def evidence_upload(*, case, actor, uploaded_file, description=""):
    refuse_private_keys({"description": description, "name": uploaded_file.name})
    if uploaded_file.size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationFailed(
            f"The file is {uploaded_file.size} bytes; the limit is "
            f"{settings.EVIDENCE_MAX_BYTES}.", code=ErrorCode.FILE_TOO_LARGE, field="file")
    if uploaded_file.size == 0:
        raise ValidationFailed("The file is empty.", code=ErrorCode.INVALID, field="file")
    digest, head = hashlib.sha256(), b""
    for chunk in uploaded_file.chunks():
        if len(head) < 2048:
            head += chunk[: 2048 - len(head)]
        digest.update(chunk)
    content_type = detect_content_type(head)
    if content_type not in settings.EVIDENCE_ALLOWED_TYPES:
        raise ValidationFailed(f"Files of type {content_type} are not accepted as evidence.",
                               code=ErrorCode.FILE_TYPE_NOT_ALLOWED, field="file")
    sha256 = digest.hexdigest()
    uploaded_file.seek(0)
    with transaction.atomic():
        case = _locked(case)
        _require_agency_clerk(actor, case)
        if case.status in (CaseStatus.CLOSED,):
            raise Conflict("Evidence can't be added to a closed case.",
                           code=ErrorCode.INVALID_TRANSITION)
        if Evidence.objects.filter(case=case, sha256=sha256).exists():
            raise ValidationFailed("This file is already attached to the case.",
                                   code=ErrorCode.DUPLICATE, field="file")
        evidence = Evidence(case=case, original_name=uploaded_file.name[:255],
                            content_type=content_type, size=uploaded_file.size, sha256=sha256,
                            description=description, uploaded_by=actor)
        evidence.file.save(uploaded_file.name, uploaded_file, save=False)
        stored_name = evidence.file.name
        try:
            evidence.save()
            record_event(actor=actor, action="evidence.uploaded", obj=evidence,
                         after={"case": str(case.public_id), "sha256": sha256,
                                "size": evidence.size, "content_type": content_type,
                                "name": evidence.original_name})
        except Exception:
            default_storage.delete(stored_name)
            raise
    return evidence


@transaction.atomic
def custody_entry_add(*, case, actor, data):
    refuse_private_keys(data)
    case = _locked(case)
    _require_agency_clerk(actor, case)
    if data.get("held_until") and data["held_until"] <= data["held_from"]:
        raise ValidationFailed("held_until must be after held_from.", field="held_until")
    entry = CustodyEntry.objects.create(case=case, recorded_by=actor, **data)
    record_event(actor=actor, action="custody_entry.added", obj=entry,
                 after={"case": str(case.public_id), **{k: str(v) for k, v in data.items()}})
    return entry


# --- alerts -------------------------------------------------------------------------------
def alert_raise(*, case, kind, dedup_key, message, details=None, actor=None):
    """Raise an alert once: an open alert with the same key is left as it is. Runs in the
    caller's transaction (the watcher's service)."""
    existing = CaseAlert.objects.filter(kind=kind, dedup_key=dedup_key,
                                        resolved_at__isnull=True).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        alert = CaseAlert.objects.create(case=case, kind=kind, dedup_key=dedup_key,
                                         message=message, details=details or {})
        record_event(actor=actor, action="alert.raised", obj=alert,
                     after={"kind": kind, "case": str(case.public_id) if case else None,
                            "message": message, "details": details or {}})
    return alert, True


# --- what the chain watchers found --------------------------------------------------------
def asset_record_observation(*, asset_id, verified, observed_amount, details, actor=None):
    """The intake watcher's verdict on a seized asset, from what the node reported.

    verified=True: the custody address received the declared amount in the recorded sweeps
    with enough confirmations. verified=False: a discrepancy (less, more, other txs, a sweep
    that vanished), raised as an alert on the case with what was seen. Safe to run twice:
    the same verdict on the same observation changes nothing and writes no event."""
    with transaction.atomic():
        asset = SeizedAsset.objects.select_for_update().select_related("case").get(pk=asset_id)
        target = VerificationStatus.VERIFIED if verified else VerificationStatus.DISCREPANCY
        if asset.verification_status == target and asset.observed_amount == observed_amount:
            return asset
        before = {"verification_status": asset.verification_status,
                  "observed_amount": asset.observed_amount}
        asset.verification_status = target
        asset.observed_amount = observed_amount
        asset.verified_at = timezone.now() if verified else None
        asset.save(update_fields=["verification_status", "observed_amount", "verified_at"])
        record_event(actor=actor, action="asset.verified" if verified else "asset.discrepancy",
                     obj=asset, before=before,
                     after={"verification_status": target, "observed_amount": observed_amount,
                            "details": details})
        if not verified:
            alert_raise(case=asset.case, kind=CaseAlert.Kind.INTAKE_DISCREPANCY,
                        dedup_key=f"intake:{asset.public_id}:{observed_amount}",
                        message=f"Declared {asset.declared_amount}, observed {observed_amount} "
                                f"at {asset.custody_address}.", details=details, actor=actor)
        return asset


def asset_sweep_reverted(*, asset_public_id, txid, chain_state, actor=None):
    """A recorded sweep left the chain (reorg) or lost to a conflicting spend, after the
    asset was verified: the verdict no longer stands. The asset goes back to PENDING (the
    watcher checks it again) and the case gets an alert saying what happened. Safe to run
    twice."""
    import uuid

    try:
        asset_public_id = uuid.UUID(str(asset_public_id))
    except ValueError:
        return None
    with transaction.atomic():
        asset = (SeizedAsset.objects.select_for_update().select_related("case")
                 .filter(public_id=asset_public_id).first())
        if asset is None or asset.verification_status != VerificationStatus.VERIFIED:
            return asset
        before = {"verification_status": asset.verification_status,
                  "observed_amount": asset.observed_amount}
        asset.verification_status = VerificationStatus.PENDING
        asset.verified_at = None
        asset.next_check_at = timezone.now()
        asset.save(update_fields=["verification_status", "verified_at", "next_check_at"])
        record_event(actor=actor, action="asset.verification_reverted", obj=asset,
                     before=before, after={"verification_status": asset.verification_status,
                                           "sweep": txid, "chain_state": chain_state})
        kind = (CaseAlert.Kind.REORG if chain_state in ("MEMPOOL", "PENDING")
                else CaseAlert.Kind.CONFLICT)
        alert_raise(case=asset.case, kind=kind, dedup_key=f"sweep:{txid}:{chain_state}",
                    message=f"Sweep {txid} of a verified asset is now {chain_state}: the "
                            "verification was withdrawn and the asset is checked again.",
                    details={"txid": txid, "chain_state": chain_state,
                             "asset": str(asset.public_id)}, actor=actor)
    transaction.on_commit(lambda: queue_asset_check(asset.pk))
    return asset
