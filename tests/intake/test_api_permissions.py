"""Who may see and do what: the role × endpoint matrix, other agencies, own cases."""

import pytest

from core.models import AuditEvent
from core.roles import Role
from intake.models import CaseStatus as S
from intake.models import SeizedAsset, SeizureCase
from tests.support.api import CASE_PAYLOAD, ORDER_PAYLOAD, attach_documents, url
from tests.support.factories import CaseFactory, UserFactory
from tests.support.second_factor import otp

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(clerk, other_clerk, legal, bank, auditor, admin_user):
    return {"clerk": clerk, "other_clerk": other_clerk, "legal": legal, "bank": bank,
            "auditor": auditor, "admin": admin_user, "anonymous": None}


# (state the case is in, request) → expected status per person. The case belongs to
# "clerk"'s agency and was filed by someone else of that agency.
LIST_VISIBLE = {  # which people see a case in that state in their list
    S.DRAFT: {"clerk", "auditor", "admin"},
    S.SUBMITTED: {"clerk", "legal", "auditor", "admin"},
    S.CONFISCATION_APPROVED: {"clerk", "legal", "bank", "auditor", "admin"},
}


@pytest.mark.parametrize("state", list(LIST_VISIBLE))
@pytest.mark.parametrize("who", ["clerk", "other_clerk", "legal", "bank", "auditor", "admin",
                                 "anonymous"])
def test_list_and_detail_visibility(api, people, agency, state, who):
    case = CaseFactory(agency=agency, status=state)
    client = api(people[who])
    listed = client.get(url())
    detail = client.get(url(case.public_id))
    assets = client.get(url(case.public_id, sub="assets"))
    if who == "anonymous":  # 401, with WWW-Authenticate: Bearer
        assert listed.status_code == detail.status_code == 401
        assert listed["WWW-Authenticate"] == "Bearer"
        return
    ids = [c["id"] for c in listed.json()["results"]]
    if who in LIST_VISIBLE[state]:
        assert ids == [str(case.public_id)]
        assert detail.status_code == 200 and assets.status_code == 200
    else:
        assert ids == []
        assert detail.status_code == 404 and assets.status_code == 404
        assert detail.json()["code"] == "not_found"


WRITE_CALLS = [
    # (name, state, method, path-builder, body, people allowed)
    ("create", None, "post", lambda c: url(), CASE_PAYLOAD, {"clerk", "other_clerk"}),
    ("edit", S.DRAFT, "patch", lambda c: url(c), {"owner_name": "X"}, {"clerk"}),
    ("add-asset", S.DRAFT, "post", lambda c: url(c, sub="assets"),
     {"asset": "OTHER", "network": "n/a", "declared_amount": 5}, {"clerk"}),
    ("submit", S.DRAFT, "post", lambda c: url(c, "submit"), {}, {"clerk"}),
    ("custody-entry", S.DRAFT, "post", lambda c: url(c, sub="custody-entries"),
     {"item_kind": "DEVICE", "item_description": "Ledger Nano S", "holder": "Evidence room",
      "held_from": "2026-03-02T10:00:00Z"}, {"clerk"}),
    ("start-review", S.SUBMITTED, "post", lambda c: url(c, "start-review"), {}, {"legal"}),
    ("approve", S.UNDER_REVIEW, "post", lambda c: url(c, "approve"), ORDER_PAYLOAD, {"legal"}),
    ("reject", S.UNDER_REVIEW, "post", lambda c: url(c, "reject"), {"reason": "r"}, {"legal"}),
    ("appeal", S.CONFISCATION_APPROVED, "post", lambda c: url(c, "appeal"), {"reason": "r"},
     {"legal"}),
]
WHO = ["clerk", "other_clerk", "legal", "bank", "auditor", "admin"]


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(("name", "state", "method", "path", "body", "allowed"), WRITE_CALLS,
                         ids=[c[0] for c in WRITE_CALLS])
def test_write_matrix(api, people, agency, who, name, state, method, path, body, allowed):
    case = None
    if state is not None:
        case = attach_documents(CaseFactory(agency=agency, status=state))
        SeizedAsset.objects.create(case=case, asset="OTHER", network="n/a", declared_amount=1,
                                   verification_status="UNTRACKED")
    if who == "legal" and name in ("approve", "reject", "appeal"):
        body = {**body, "otp": otp(people[who])}  # a decision's fresh code
    cases_before = SeizureCase.objects.count()
    events_before = AuditEvent.objects.count()
    response = getattr(api(people[who]), method)(
        path(case.public_id if case else None), body, format="json")
    if who in allowed:
        assert response.status_code in (200, 201), response.json()
        assert AuditEvent.objects.count() > events_before
        return
    # Either the case is invisible to them (404) or they may not act on it (403).
    assert response.status_code in (403, 404), response.json()
    assert response.json()["code"] in ("forbidden", "not_found")
    assert SeizureCase.objects.count() == cases_before
    assert AuditEvent.objects.count() == events_before
    if case is not None:
        case_after = SeizureCase.objects.get(pk=case.pk)
        assert case_after.status == state
        assert case_after.owner_name == case.owner_name


def test_other_agency_ids_are_404_everywhere(api, other_clerk, agency):
    case = CaseFactory(agency=agency, status=S.DRAFT)
    asset = SeizedAsset.objects.create(case=case, asset="OTHER", network="n/a",
                                       declared_amount=1, verification_status="UNTRACKED")
    client = api(other_clerk)
    for path in [url(case.public_id), url(case.public_id, sub="assets"),
                 url(case.public_id, sub="evidence"), url(case.public_id, sub="custody-entries")]:
        assert client.get(path).status_code == 404, path
    sweep = client.post(url(case.public_id, sub=f"assets/{asset.public_id}/sweeps"),
                        {"txid": "ab" * 32}, format="json")
    assert sweep.status_code == 404
    assert client.post(url(case.public_id, "submit")).status_code == 404
    assert client.get(url(), {"q": case.case_number}).json()["results"] == []


def test_filer_can_never_approve_their_own_case(api, agency):
    # One person holding both roles files a case, then tries to review and approve it.
    both = UserFactory(username="both", agency=agency, roles=[Role.CLERK, Role.LEGAL_OFFICER])
    client = api(both)
    case = client.post(url(), CASE_PAYLOAD, format="json").json()
    client.post(url(case["id"], sub="assets"),
                {"asset": "OTHER", "network": "n/a", "declared_amount": 5}, format="json")
    attach_documents(SeizureCase.objects.get(public_id=case["id"]))
    assert client.post(url(case["id"], "submit")).status_code == 200
    refused = client.post(url(case["id"], "start-review"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "own_case"
    # Even if someone else started the review, the filer cannot record the order.
    SeizureCase.objects.filter(public_id=case["id"]).update(status=S.UNDER_REVIEW)
    events_before = AuditEvent.objects.count()
    approve = client.post(url(case["id"], "approve"), ORDER_PAYLOAD, format="json")
    assert approve.status_code == 403
    assert approve.json()["code"] == "own_case"
    assert SeizureCase.objects.get(public_id=case["id"]).status == S.UNDER_REVIEW
    assert AuditEvent.objects.count() == events_before


def test_only_the_reviewer_who_took_the_case_decides(api, agency, legal, legal2):
    case = CaseFactory(agency=agency, status=S.SUBMITTED)
    assert api(legal).post(url(case.public_id, "start-review")).status_code == 200
    response = api(legal2).post(url(case.public_id, "approve"), ORDER_PAYLOAD, format="json")
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == S.UNDER_REVIEW


def test_auditor_reads_the_audit_record_others_do_not(api, auditor, clerk, bank):
    from core.audit import run_verification

    assert api(auditor).get("/api/v1/audit/events/").status_code == 200
    run_verification()  # the endpoint shows the latest stored run, it never verifies itself
    verify = api(auditor).get("/api/v1/audit/verify/")
    assert verify.status_code == 200 and verify.json()["ok"] is True
    for user in (clerk, bank):
        assert api(user).get("/api/v1/audit/events/").status_code == 403
        assert api(user).get("/api/v1/audit/verify/").status_code == 403


def test_export_and_evidence_download_follow_visibility(api, clerk, other_clerk, auditor,
                                                         agency, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    mine = CaseFactory(agency=agency, case_number="EXPORT-MINE", filed_by=clerk)
    CaseFactory(agency=other_clerk.agency, case_number="EXPORT-THEIRS")
    uploaded = api(clerk).post(url(mine.public_id, sub="evidence"),
                               {"file": SimpleUploadedFile("p.pdf", b"%PDF-1 protocol")},
                               format="multipart").json()
    export = b"".join(api(clerk).get("/api/v1/cases/export.csv").streaming_content).decode()
    assert "EXPORT-MINE" in export and "EXPORT-THEIRS" not in export
    everything = b"".join(api(auditor).get("/api/v1/cases/export.csv").streaming_content)
    assert b"EXPORT-MINE" in everything and b"EXPORT-THEIRS" in everything
    path = url(mine.public_id, sub=f"evidence/{uploaded['id']}/download")
    download = api(clerk).get(path)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1 protocol"
    assert download["X-Content-SHA256"] == uploaded["sha256"]
    assert api(other_clerk).get(path).status_code == 404
