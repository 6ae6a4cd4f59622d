"""Filing a case with its assets in one command: one request, one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction

from core.audit import audit_batch

from ..models import SeizureCase
from .assets import asset_add
from .cases import case_create


def case_file(*, actor: Any, data: dict[str, Any],
              assets: Iterable[Mapping[str, Any]] = ()) -> SeizureCase:
    """case_create, then asset_add for each asset, all or nothing: a refused asset leaves no
    case behind. Each step keeps its own checks and audit event; a machine client files in
    one request and one commit instead of one per asset, and the audit chain's head is
    taken once, at the end (core.audit.audit_batch)."""
    with transaction.atomic(), audit_batch():
        case = case_create(actor=actor, data=data)
        for asset in assets:
            asset_add(case=case, actor=actor, **asset)
    return case
