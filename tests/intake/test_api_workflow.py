"""The whole intake flow through the API, from a clerk's filing to a final order."""

import pytest
from django.utils import timezone

from core.audit import verify_chain
from core.models import AuditEvent
from intake.models import CaseStatus, SeizedAsset, SeizureCase, VerificationStatus
from tests.support.api import CASE_PAYLOAD, DOC_SHA, ORDER_PAYLOAD, upload_document, url
from tests.support.second_factor import otp

pytestmark = pytest.mark.django_db


def file_case(client, **overrides):
    response = client.post(url(), {**CASE_PAYLOAD, **overrides}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_clerk_files_and_legal_approves(api, clerk, legal, custody_wallet):
    clerk_api, legal_api = api(clerk), api(legal)
    case = file_case(clerk_api)
    assert case["status"] == "DRAFT"
    assert case["allowed_transitions"] == ["SUBMITTED"]

    asset = clerk_api.post(url(case["id"], sub="assets"),
                           {"asset": "BTC", "network": "regtest",
                            "declared_amount_btc": "0.50000000"}, format="json")
    assert asset.status_code == 201, asset.json()
    asset = asset.json()
    assert asset["declared_amount"] == 50_000_000
    assert asset["custody_address"].startswith("bcrt1q")
    assert asset["custody_address"] == custody_wallet.cases.get().custody_address

    txid = "ab" * 32
    sweep = clerk_api.post(url(case["id"], sub=f"assets/{asset['id']}/sweeps"), {"txid": txid},
                           format="json")
    assert sweep.status_code == 201, sweep.json()
    assert sweep.json()["sweeps"][0]["txid"] == txid

    # Submission needs the document the seizure rests on.
    refused = clerk_api.post(url(case["id"], "submit"))
    assert refused.status_code == 409
    assert refused.json()["code"] == "warrant_document_missing"
    upload_document(clerk_api, case["id"], kind="WARRANT", content=b"%PDF-1.4 warrant")
    assert clerk_api.post(url(case["id"], "submit")).json()["status"] == "SUBMITTED"
    # Legal officers see it in their queue now.
    listed = legal_api.get(url(), {"status": "SUBMITTED"}).json()
    assert [c["id"] for c in listed["results"]] == [case["id"]]

    started = legal_api.post(url(case["id"], "start-review"))
    assert started.json()["status"] == "UNDER_REVIEW"
    assert started.json()["reviewer"] == "legal"
    # The order names its document by hash: the reviewer uploads it to the case first.
    missing = legal_api.post(url(case["id"], "approve"), ORDER_PAYLOAD, format="json")
    assert missing.status_code == 400
    assert missing.json()["code"] == "order_document_missing"
    document = upload_document(legal_api, case["id"], kind="COURT_ORDER")
    assert document["sha256"] == DOC_SHA and document["uploaded_by"] == "legal"
    approved = legal_api.post(url(case["id"], "approve"), {**ORDER_PAYLOAD, "otp": otp(legal)},
                              format="json")
    assert approved.status_code == 200, approved.json()
    body = approved.json()
    assert body["status"] == "CONFISCATION_APPROVED"
    assert body["confiscation_order"]["order_number"] == ORDER_PAYLOAD["order_number"]
    assert body["confiscation_order"]["document"] == document["id"]
    assert body["confiscation_order"]["document_sha256"] == DOC_SHA

    appealed = legal_api.post(url(case["id"], "appeal"),
                              {"reason": "Defence appealed", "otp": otp(legal)}, format="json")
    assert appealed.json()["status"] == "ON_APPEAL"
    assert appealed.json()["confiscation_order"]["finality"] == "UNDER_APPEAL"
    upheld = legal_api.post(url(case["id"], "resolve-appeal"),
                            {"outcome": "UPHELD", "reason": "Appeal dismissed",
                             "otp": otp(legal)}, format="json")
    assert upheld.json()["status"] == "CONFISCATION_APPROVED"
    assert upheld.json()["confiscation_order"]["finality"] == "FINAL"

    actions = list(AuditEvent.objects.filter(object_id=case["id"]).values_list("action",
                                                                                 flat=True))
    assert actions == ["case.created", "case.custody_address_assigned", "case.submitted",
                       "case.review_started", "case.confiscation_approved", "case.appealed",
                       "case.appeal_upheld"]
    order_event = AuditEvent.objects.get(object_id=case["id"],
                                         action="case.confiscation_approved")
    assert order_event.after["order"]["document"] == document["id"]
    decided = AuditEvent.objects.filter(object_id=case["id"], action__in=[
        "case.confiscation_approved", "case.appealed", "case.appeal_upheld"])
    assert [e.after["second_factor"] for e in decided] == ["totp"] * 3
    result = verify_chain()
    assert result.ok, result
    assert result.checked == AuditEvent.objects.count()


def test_returned_case_is_corrected_and_resubmitted(api, clerk, legal, custody_wallet):
    clerk_api, legal_api = api(clerk), api(legal)
    case = file_case(clerk_api)
    clerk_api.post(url(case["id"], sub="assets"),
                   {"asset": "USDT", "network": "tron", "declared_amount": 1_000_000},
                   format="json")
    upload_document(clerk_api, case["id"], kind="SEIZURE_PROTOCOL")
    clerk_api.post(url(case["id"], "submit"))
    legal_api.post(url(case["id"], "start-review"))
    returned = legal_api.post(url(case["id"], "return"),
                              {"reason": "Protocol number missing", "otp": otp(legal)},
                              format="json")
    assert returned.json()["status"] == "RETURNED_FOR_CORRECTION"
    assert returned.json()["status_reason"] == "Protocol number missing"
    patched = clerk_api.patch(url(case["id"]), {"seizure_protocol_number": "SP-99"},
                              format="json")
    assert patched.status_code == 200
    assert patched.json()["seizure_protocol_number"] == "SP-99"
    assert clerk_api.post(url(case["id"], "submit")).json()["status"] == "SUBMITTED"


def test_untracked_asset_needs_no_custody_wallet(api, clerk):
    case = file_case(api(clerk))
    response = api(clerk).post(url(case["id"], sub="assets"),
                               {"asset": "ETH", "network": "ethereum",
                                "declared_amount": 10**18}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["verification_status"] == VerificationStatus.UNTRACKED
    assert response.json()["custody_address"] == ""


def test_each_case_gets_its_own_custody_address(api, clerk, custody_wallet):
    addresses = set()
    for n in range(3):
        case = file_case(api(clerk), case_number=f"AFM-{n}")
        asset = api(clerk).post(url(case["id"], sub="assets"),
                                {"asset": "BTC", "network": "regtest", "declared_amount": 1000},
                                format="json").json()
        # A second BTC asset on the same case shares the case's address, never another's.
        again = api(clerk).post(url(case["id"], sub="assets"),
                                {"asset": "BTC", "network": "regtest", "declared_amount": 5},
                                format="json").json()
        assert again["custody_address"] == asset["custody_address"]
        addresses.add(asset["custody_address"])
    assert len(addresses) == 3
    indexes = sorted(SeizureCase.objects.values_list("custody_index", flat=True))
    assert indexes == [0, 1, 2]
    custody_wallet.refresh_from_db()
    assert custody_wallet.next_index == 3


def test_rejected_case_closes(api, clerk, legal):
    case = file_case(api(clerk))
    api(clerk).post(url(case["id"], sub="assets"),
                    {"asset": "OTHER", "network": "n/a", "asset_label": "XMR",
                     "declared_amount": 7}, format="json")
    upload_document(api(clerk), case["id"], kind="WARRANT")
    api(clerk).post(url(case["id"], "submit"))
    api(legal).post(url(case["id"], "start-review"))
    rejected = api(legal).post(url(case["id"], "reject"),
                               {"reason": "No legal basis", "otp": otp(legal)}, format="json")
    assert rejected.json()["status"] == CaseStatus.REJECTED
    refused = api(legal).post(url(case["id"], "close"),
                              {"reason": "Released to owner", "otp": otp(legal)}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "assets_not_disposed"
    # The XMR went back to its owner (recorded by the reserve side; here directly).
    SeizedAsset.objects.filter(case__public_id=case["id"]).update(
        disposition="RELEASED", disposition_ref="receipt-1", disposed_at=timezone.now())
    closed = api(legal).post(url(case["id"], "close"),
                             {"reason": "Released to owner", "otp": otp(legal)}, format="json")
    assert closed.json()["status"] == CaseStatus.CLOSED


def test_idempotency_key_replays_without_acting_twice(api, clerk, custody_wallet):
    case = file_case(api(clerk))
    client = api(clerk)
    body = {"asset": "BTC", "network": "regtest", "declared_amount": 1234}
    first = client.post(url(case["id"], sub="assets"), body, format="json",
                        HTTP_IDEMPOTENCY_KEY="k-1")
    second = client.post(url(case["id"], sub="assets"), body, format="json",
                         HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert SeizureCase.objects.get().assets.count() == 1
    other = client.post(url(case["id"], sub="assets"), {**body, "declared_amount": 99},
                        format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert SeizureCase.objects.get().assets.count() == 1


@pytest.mark.parametrize(("status", "who", "offered"), [
    (CaseStatus.UNDER_REVIEW, "legal", ["CONFISCATION_APPROVED", "ON_APPEAL", "REJECTED",
                                        "RETURNED_FOR_CORRECTION"]),
    (CaseStatus.UNDER_REVIEW, "auditor", []),
    (CaseStatus.SUBMITTED, "clerk", []),
    (CaseStatus.SUBMITTED, "legal", ["UNDER_REVIEW"]),
    (CaseStatus.IN_TRANSFER, "bank", []),  # the reserve side's moves are never offered
    (CaseStatus.IN_RESERVE, "bank", ["CLOSED"]),
])
def test_allowed_transitions_are_this_users_commands(api, clerk, legal, bank, auditor,
                                                     status, who, offered):
    from tests.support.factories import CaseFactory

    case = CaseFactory(agency=clerk.agency, status=status)
    user = {"clerk": clerk, "legal": legal, "bank": bank, "auditor": auditor}[who]
    detail = api(user).get(url(case.public_id))
    assert detail.status_code == 200, detail.json()
    assert detail.json()["allowed_transitions"] == offered
    listed = api(user).get(url(), {"status": status})
    assert [c["allowed_transitions"] for c in listed.json()["results"]] == [offered]
