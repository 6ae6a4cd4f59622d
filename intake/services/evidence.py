"""Evidence files (hashed, type detected from the content) and the chain of custody of
physical items (who held a device or a sealed seed record, when)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from core.audit import record_event
from core.bitcoin import refuse_private_keys
from core.errors import Conflict, ErrorCode, ValidationFailed
from core.roles import Role, has_any_role

from ..audit import IntakeAction
from ..models import CaseStatus, Evidence, HandoverEntry, SeizureCase
from .common import lock_case, require_agency_clerk, require_own_review

_SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
]


def detect_content_type(head: bytes) -> str:
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


TEXT_TYPES = frozenset({"text/plain", "application/json"})


def _refuse_keys_in_text(uploaded_file: UploadedFile) -> None:
    """A text file is read like a form field: a WIF, an extended private key or a seed
    phrase inside it is refused with the same error (DESIGN §3)."""
    uploaded_file.seek(0)
    text = b"".join(uploaded_file.chunks()).decode("utf-8", errors="replace")
    refuse_private_keys({"file": text})


def _require_uploader(actor: Any, case: SeizureCase, kind: str) -> None:
    """The case's clerks upload any kind of document; its reviewing legal officer uploads
    the court's order document (the order then references it by its hash)."""
    if kind == Evidence.Kind.COURT_ORDER and has_any_role(actor, [Role.LEGAL_OFFICER]):
        require_own_review(actor, case)
        return
    require_agency_clerk(actor, case)


def evidence_upload(*, case: SeizureCase, actor: Any, uploaded_file: UploadedFile,
                    description: str = "", kind: str = Evidence.Kind.OTHER) -> Evidence:
    refuse_private_keys({"description": description, "name": uploaded_file.name})
    if kind not in Evidence.Kind.values:
        raise ValidationFailed(f"kind is one of {', '.join(Evidence.Kind.values)}.",
                               field="kind")
    size = uploaded_file.size or 0
    if size > settings.EVIDENCE_MAX_BYTES:
        raise ValidationFailed(
            f"The file is {size} bytes; the limit is {settings.EVIDENCE_MAX_BYTES}.",
            code=ErrorCode.FILE_TOO_LARGE, field="file")
    if size == 0:
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
    if content_type in TEXT_TYPES:
        _refuse_keys_in_text(uploaded_file)
    sha256 = digest.hexdigest()
    uploaded_file.seek(0)
    with transaction.atomic():
        case = lock_case(case)
        _require_uploader(actor, case, kind)
        if case.status in (CaseStatus.CLOSED,):
            raise Conflict("Evidence can't be added to a closed case.",
                           code=ErrorCode.INVALID_TRANSITION)
        if Evidence.objects.filter(case=case, sha256=sha256).exists():
            raise ValidationFailed("This file is already attached to the case.",
                                   code=ErrorCode.DUPLICATE, field="file")
        name = uploaded_file.name or "evidence"
        evidence = Evidence(case=case, kind=kind, original_name=name[:255],
                            content_type=content_type,
                            size=size, sha256=sha256, description=description,
                            uploaded_by=actor)
        evidence.file.save(name, uploaded_file, save=False)
        stored_name = evidence.file.name or ""
        try:
            evidence.save()
            record_event(actor=actor, action=IntakeAction.EVIDENCE_UPLOADED, obj=evidence,
                         after={"case": str(case.public_id), "sha256": sha256, "kind": kind,
                                "size": evidence.size, "content_type": content_type,
                                "name": evidence.original_name})
        except Exception:
            default_storage.delete(stored_name)
            raise
    return evidence


@transaction.atomic
def handover_add(*, case: SeizureCase, actor: Any, data: dict[str, Any]) -> HandoverEntry:
    refuse_private_keys(data)
    case = lock_case(case)
    require_agency_clerk(actor, case)
    if data.get("held_until") and data["held_until"] <= data["held_from"]:
        raise ValidationFailed("held_until must be after held_from.", field="held_until")
    entry = HandoverEntry.objects.create(case=case, recorded_by=actor, **data)
    record_event(actor=actor, action=IntakeAction.HANDOVER_RECORDED, obj=entry,
                 after={"case": str(case.public_id), **{k: str(v) for k, v in data.items()}})
    return entry
