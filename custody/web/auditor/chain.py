"""The audit record's pages: the latest verification and the runs before it (each a
checkpoint: the chain known intact through #seq, ending in that hash), a button that
queues a verification for the worker (core.verify_audit_chain, the task beat runs), a
checkpoint line to keep outside Qazyna, and the events with their filters and CSV.

A web request never walks the chain: it reads the stored verifications
(core.audit.verification_report), and a checkpoint is one stored row signed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core import selectors as core_selectors
from core.api.exports import streaming_csv_response
from core.audit_export import audit_event_rows, checkpoint_line, checkpoint_of
from core.errors import Conflict, ErrorCode, PermissionRefused
from core.models import AuditVerification
from core.tasks import enqueue
from core.web.auth import person_required

from .common import csv_name, page_context, paged
from .forms import AuditEventFilterForm

VERIFY_TASK = "core.verify_audit_chain"
# One verification queued at a time from the pages: a second click within this window
# (anyone's) queues nothing more; the scheduled runs go on regardless.
VERIFY_QUEUE_SECONDS = 60
EVENTS_PAGE_SIZE = 50
RUNS_SHOWN = 20


def require_audit_reader(user: Any) -> None:
    if not core_selectors.can_read_audit(user):
        raise PermissionRefused("The audit record is for auditors and admins.")


@person_required
@require_GET
def audit_chain(request: HttpRequest) -> HttpResponse:
    require_audit_reader(request.user)
    return render(request, "custody/auditor/audit_chain.html", {
        **page_context(request),
        "runs": list(AuditVerification.objects.order_by("-id")[:RUNS_SHOWN]),
    })


@person_required
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Queue a verification (incremental, or from the first event) for the worker."""
    require_audit_reader(request.user)
    full = request.POST.get("full") == "1"
    key = f"qazyna:audit-verify-queued:{int(full)}"
    if not cache.add(key, 1, VERIFY_QUEUE_SECONDS):
        messages.info(request, _("A verification was queued less than a minute ago: its "
                                 "result appears here when the worker has finished."))
    elif enqueue(VERIFY_TASK, full):
        messages.success(request, _("Verification queued. The result appears here when the "
                                    "worker has finished; reload the page."))
    else:
        cache.delete(key)
        messages.error(request, _("The verification could not be queued: the task queue is "
                                  "not reachable. The scheduled verification will run."))
    return redirect("custody:auditor-chain")


@person_required
@require_GET
def audit_checkpoint(request: HttpRequest) -> HttpResponse:
    """The checkpoint of the latest good verification, one JSON line (signed when the
    system has a checkpoint key), for the auditor's own file."""
    require_audit_reader(request.user)
    latest = AuditVerification.objects.order_by("-id").first()
    if latest is None or not latest.ok:
        raise Conflict("There is no intact verification to issue a checkpoint of.",
                       code=ErrorCode.CONFLICT)
    line = checkpoint_line(checkpoint_of(latest.checked))
    response = HttpResponse(line + "\n", content_type="application/jsonl; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="qazyna-checkpoint-{latest.checked}.jsonl"')
    return response


@person_required
@require_GET
def audit_events(request: HttpRequest) -> HttpResponse:
    require_audit_reader(request.user)
    form = AuditEventFilterForm(request.GET or None)
    events = core_selectors.audit_events_for_user(user=request.user, filters=form.filters())
    return render(request, "custody/auditor/audit_events.html", {
        **page_context(request), **paged(request, events, EVENTS_PAGE_SIZE),
        "form": form if form.is_bound else AuditEventFilterForm(),
        "filtered": bool(form.is_bound and form.filters()),
        "page_has_errors": form.is_bound and bool(form.errors)})


@person_required
@require_GET
def audit_events_csv(request: HttpRequest) -> StreamingHttpResponse:
    require_audit_reader(request.user)
    form = AuditEventFilterForm(request.GET or None)
    events = core_selectors.audit_events_for_user(user=request.user, filters=form.filters())
    return streaming_csv_response(audit_event_rows(events), filename=csv_name("audit-events"))
