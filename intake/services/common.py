"""Guards shared by intake's services: who may act on a case, and the case's row lock."""

from __future__ import annotations

from typing import Any

from core.errors import ErrorCode, PermissionRefused
from core.roles import Role, require_role

from ..models import CaseStatus, SeizureCase


def lock_case(case: SeizureCase) -> SeizureCase:
    """The case, re-read under a row lock (inside the caller's transaction)."""
    return SeizureCase.objects.select_for_update().get(pk=case.pk)


def require_agency_clerk(actor: Any, case: SeizureCase) -> None:
    require_role(actor, Role.CLERK)
    if actor.agency_id != case.agency_id:
        raise PermissionRefused("Only clerks of the case's agency may change it.")


def require_reviewer(actor: Any, case: SeizureCase) -> None:
    """A legal officer who did not file the case."""
    require_role(actor, Role.LEGAL_OFFICER)
    if case.filed_by_id == actor.pk:
        raise PermissionRefused("You filed this case: another legal officer must review it.",
                                code=ErrorCode.OWN_CASE)


def require_own_review(actor: Any, case: SeizureCase) -> None:
    """The reviewer, once a legal officer has taken the case for review."""
    require_reviewer(actor, case)
    if case.status == CaseStatus.UNDER_REVIEW and case.reviewer_id not in (None, actor.pk):
        raise PermissionRefused("Another legal officer has taken this case for review.")
