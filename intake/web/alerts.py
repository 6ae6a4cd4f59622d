"""The alerts pages: the open alerts on the cases (and the reserve) this person may see, and
one alert with who was told and the forms to acknowledge or resolve it.

Reads go through intake.selectors (an alert on a case this person may not see is a 404);
the forms offered are the alert table's commands for this person (ALERT_TABLE.commands_for),
and resolving asks for a fresh second-factor code before the service is called."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import Conflict, DomainError, ErrorCode
from core.web.auth import person_required

from .. import selectors, services
from ..models import CaseAlert
from ..transitions import ALERT_TABLE, AlertCommand
from . import presenters
from .forms import AcknowledgeForm, AlertFilterForm, ResolveForm
from .home import CASE_READERS

PAGE_SIZE = 25


@person_required(roles=CASE_READERS)
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    form = AlertFilterForm(request.GET or None)
    alerts = selectors.alert_list_for_user(user=request.user, filters=form.filters())
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "intake/alerts/list.html", {
        "form": form, "page_obj": page, "alerts": page.object_list,
        "query_without_page": f"{query.urlencode()}&" if query else "",
        "filtered": bool(form.is_bound and (form.data.get("status") or form.data.get("kind"))),
        "page_has_errors": form.is_bound and bool(form.errors),
    })


def _offers(alert: CaseAlert, user) -> set[str]:
    return set(ALERT_TABLE.commands_for(alert.status, user))


@person_required(roles=CASE_READERS)
@require_http_methods(["GET", "POST"])
def alert_detail(request: HttpRequest, alert_id) -> HttpResponse:
    """The alert; its forms post here with action=acknowledge or action=resolve."""
    alert = selectors.alert_get_for_user(user=request.user, public_id=alert_id)
    offers = _offers(alert, request.user)
    ack_form, resolve_form = AcknowledgeForm(), ResolveForm()
    action = request.POST.get("action") if request.method == "POST" else None
    if action is not None:
        command = {"acknowledge": AlertCommand.ACKNOWLEDGE,
                   "resolve": AlertCommand.RESOLVE}.get(action)
        if command not in offers:
            raise Conflict(f"An alert in state {alert.status} does not offer this to you.",
                           code=ErrorCode.INVALID_TRANSITION)
        if command == AlertCommand.ACKNOWLEDGE:
            ack_form = AcknowledgeForm(request.POST)
            if ack_form.is_valid():
                try:
                    services.alert_acknowledge(alert=alert, actor=request.user,
                                               reason=ack_form.cleaned_data["reason"])
                except DomainError as exc:
                    ack_form.add_domain_error(exc)
                else:
                    messages.success(request, _("Alert acknowledged: it is no longer "
                                                "escalated."))
                    return redirect("intake:alert-detail", alert_id=alert.public_id)
        else:
            resolve_form = ResolveForm(request.POST)
            if resolve_form.is_valid():
                proof = resolve_form.step_up(request.user)
                if proof is not None:
                    try:
                        services.alert_resolve(alert=alert, actor=request.user,
                                               reason=resolve_form.cleaned_data["reason"],
                                               step_up=proof)
                    except DomainError as exc:
                        resolve_form.add_domain_error(exc)
                    else:
                        messages.success(request, _("Alert resolved."))
                        return redirect("intake:alert-detail", alert_id=alert.public_id)
    return render(request, "intake/alerts/detail.html", {
        "alert": alert,
        "deliveries": list(alert.deliveries.all()),
        "timeline": presenters.alert_timeline(alert),
        "offer_acknowledge": AlertCommand.ACKNOWLEDGE in offers,
        "offer_resolve": AlertCommand.RESOLVE in offers,
        "ack_form": ack_form, "resolve_form": resolve_form,
        "page_has_errors": bool(ack_form.errors or resolve_form.errors),
    })
