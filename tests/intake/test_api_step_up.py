"""Legal decisions ask for a fresh second-factor code in the same request (issue 8 point 2):
the order, a return, a rejection, an appeal, its outcome and closing, like the reserve's
approvals. The code is checked after the decision's own refusals, so a refused decision
never uses it up, and the audit event records that it was given."""

import pytest

from core.models import AuditEvent
from intake.models import CaseStatus as S
from intake.models import ConfiscationOrder, SeizureCase
from tests.support.api import ORDER_PAYLOAD, attach_documents, url
from tests.support.factories import CaseFactory
from tests.support.second_factor import enrol, otp

pytestmark = pytest.mark.django_db

# decision → (endpoint, body, state it is taken from, resulting state)
DECISIONS = {
    "approve": ("approve", ORDER_PAYLOAD, S.UNDER_REVIEW, S.CONFISCATION_APPROVED),
    "return": ("return", {"reason": "fix"}, S.UNDER_REVIEW, S.RETURNED_FOR_CORRECTION),
    "reject": ("reject", {"reason": "no basis"}, S.UNDER_REVIEW, S.REJECTED),
    "appeal": ("appeal", {"reason": "appealed"}, S.CONFISCATION_APPROVED, S.ON_APPEAL),
    "uphold": ("resolve-appeal", {"outcome": "UPHELD", "reason": "dismissed"}, S.ON_APPEAL,
               S.CONFISCATION_APPROVED),
    "overturn": ("resolve-appeal", {"outcome": "OVERTURNED", "reason": "granted"},
                 S.ON_APPEAL, S.REJECTED),
    "close": ("close", {"reason": "released"}, S.REJECTED, S.CLOSED),
}


def case_in(state, agency, legal):
    case = attach_documents(CaseFactory(agency=agency, status=state, reviewer=legal))
    if state in (S.CONFISCATION_APPROVED, S.ON_APPEAL):
        ConfiscationOrder.objects.create(case=case, court="c", order_number="o",
                                         order_date="2026-01-01", document_sha256="a" * 64,
                                         finality="FINAL", recorded_by=legal)
    return case


@pytest.mark.parametrize("decision", list(DECISIONS))
def test_a_decision_without_its_code_is_refused_and_changes_nothing(api, agency, legal,
                                                                   decision):
    endpoint, body, state, target = DECISIONS[decision]
    device = enrol(legal)
    case = case_in(state, agency, legal)
    events = AuditEvent.objects.count()
    for code, expected in (("", "second_factor_required"), ("000000", "second_factor_invalid")):
        reply = api(legal).post(url(case.public_id, endpoint), {**body, "otp": code},
                                format="json")
        assert (reply.status_code, reply.json()["code"]) == (403, expected), reply.json()
        assert SeizureCase.objects.get(pk=case.pk).status == state
        assert AuditEvent.objects.count() == events
    device.refresh_from_db()
    device.throttling_failure_count = 0  # django-otp's own back-off after the wrong code
    device.save()

    reply = api(legal).post(url(case.public_id, endpoint), {**body, "otp": otp(legal)},
                            format="json")
    assert reply.status_code == 200, reply.json()
    assert reply.json()["status"] == target
    event = AuditEvent.objects.filter(object_id=str(case.public_id)).latest("seq")
    assert event.actor_id == legal.pk and event.after["second_factor"] == "totp"


def test_a_refused_decision_does_not_use_up_its_code(api, agency, legal):
    """The table refuses first (409): the code given with it still works once after."""
    enrol(legal)
    case = case_in(S.SUBMITTED, agency, legal)  # not yet under review: no order possible
    code = otp(legal)
    refused = api(legal).post(url(case.public_id, "reject"), {"reason": "r", "otp": code},
                              format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")
    SeizureCase.objects.filter(pk=case.pk).update(status=S.UNDER_REVIEW)
    done = api(legal).post(url(case.public_id, "reject"), {"reason": "r", "otp": code},
                           format="json")
    assert done.status_code == 200, done.json()
    again = api(legal).post(url(case.public_id, "close"), {"reason": "r", "otp": code},
                            format="json")
    assert (again.status_code, again.json()["code"]) == (403, "second_factor_invalid")


def test_who_before_what_before_the_code(api, agency, legal, clerk):
    """A person whose decision it is not is told so (403 forbidden), not asked for a code."""
    case = case_in(S.REJECTED, agency, legal)
    reply = api(clerk).post(url(case.public_id, "close"), {"reason": "r"}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (403, "forbidden")
    case = case_in(S.UNDER_REVIEW, agency, legal)
    reply = api(clerk).post(url(case.public_id, "reject"), {"reason": "r"}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (403, "forbidden")
