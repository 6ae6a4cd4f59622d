"""The legal officer's pages: the queue (never a draft), the review, the order with its
step-up code, the decisions the transition table offers and no others."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from intake import services
from intake.models import CaseStatus, ConfiscationOrder

from .conftest import ORDER_DOCUMENT, ORDER_SHA, upload_order_document

pytestmark = pytest.mark.django_db

ORDER = {"court": "Astana City Court", "order_number": "2-77/2026", "order_date": "2026-06-01",
         "document": ORDER_SHA, "reason": "", "finality": "FINAL"}


@pytest.fixture
def reviewed_case(submitted_case, legal):
    services.case_start_review(case=submitted_case, actor=legal)
    upload_order_document(submitted_case, legal)
    submitted_case.refresh_from_db()
    return submitted_case


def test_the_queue_never_shows_drafts_and_a_draft_is_not_found(web, legal, draft_case,
                                                                 submitted_case):
    page = web(legal).get("/review/").content.decode()
    assert submitted_case.case_number in page
    assert draft_case.case_number not in page
    assert web(legal).get(f"/cases/{draft_case.public_id}/").status_code == 404
    listed = web(legal).get("/cases/").content.decode()
    assert draft_case.case_number not in listed


def test_starting_the_review_is_offered_then_done(web, legal, submitted_case):
    client = web(legal)
    page = client.get(f"/cases/{submitted_case.public_id}/").content.decode()
    assert "Start the review" in page
    assert "Record the court" not in page  # not offered from SUBMITTED
    response = client.post(f"/cases/{submitted_case.public_id}/start-review/")
    assert response.status_code == 302
    submitted_case.refresh_from_db()
    assert submitted_case.status == CaseStatus.UNDER_REVIEW
    assert submitted_case.reviewer == legal
    after = client.get(f"/cases/{submitted_case.public_id}/").content.decode()
    for offered in ("Record the court&#x27;s confiscation order",
                    "Return to the clerk for correction", "Reject the case"):
        assert offered in after
    assert "Start the review" not in after


def test_a_command_the_table_does_not_offer_is_a_409_page(web, legal, submitted_case):
    response = web(legal).get(f"/cases/{submitted_case.public_id}/order/")
    assert response.status_code == 409
    assert "invalid_transition" in response.content.decode()


def test_clerks_never_reach_the_decision_pages(web, clerk, reviewed_case):
    client = web(clerk)
    for path in ("order/", "reject/", "return/", "appeal/outcome/"):
        assert client.get(f"/cases/{reviewed_case.public_id}/{path}").status_code == 403
    assert client.post(f"/cases/{reviewed_case.public_id}/start-review/").status_code == 403


def test_recording_the_order_needs_a_fresh_code_and_keeps_the_input(
        web, legal, reviewed_case, step_up_code):
    client = web(legal)
    url = f"/cases/{reviewed_case.public_id}/order/"
    page = client.get(url).content.decode()
    assert "Record the final order and approve confiscation of case AFM-2026-0102" in page
    assert "0.25000000" in page  # the exact thing approved: the assets
    assert 'autocomplete="one-time-code"' in page

    assert f'value="{ORDER_SHA}"' in page and "checked" in page  # its one order document
    missing = client.post(url, {**ORDER, "otp": ""}).content.decode()
    assert "Enter the code from your authenticator app" in missing
    assert 'value="Astana City Court"' in missing and f'value="{ORDER_SHA}"' in missing

    wrong = client.post(url, {**ORDER, "otp": "000000"})
    html = wrong.content.decode()
    assert "second_factor_invalid" in html
    assert 'value="000000"' not in html
    assert 'value="2-77/2026"' in html
    reviewed_case.refresh_from_db()
    assert reviewed_case.status == CaseStatus.UNDER_REVIEW

    bad_hash = client.post(url, {**ORDER, "document": "abc",
                                 "otp": "123456"}).content.decode()
    assert "Select a valid choice" in bad_hash

    time.sleep(1.1)  # django-otp throttles after the wrong code: 1 s, then doubling
    done = client.post(url, {**ORDER, "otp": step_up_code(legal)})
    assert done.status_code == 302 and done["Location"] == f"/cases/{reviewed_case.public_id}/"
    reviewed_case.refresh_from_db()
    assert reviewed_case.status == CaseStatus.CONFISCATION_APPROVED
    assert reviewed_case.confiscation_order.document_sha256 == ORDER_SHA
    assert "approved" in client.get(done["Location"]).content.decode()


def test_the_order_document_is_uploaded_on_the_order_page(web, legal, submitted_case,
                                                          step_up_code):
    services.case_start_review(case=submitted_case, actor=legal)
    client = web(legal)
    url = f"/cases/{submitted_case.public_id}/order/"
    page = client.get(url).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="document"' not in page
    neither = client.post(url, {**ORDER, "document": "", "otp": "123456"}).content.decode()
    assert "Choose the order&#x27;s document, or upload it" in neither

    done = client.post(url, {**ORDER, "document": "", "otp": step_up_code(legal),
                             "file": SimpleUploadedFile("order.pdf", ORDER_DOCUMENT)})
    assert done.status_code == 302
    submitted_case.refresh_from_db()
    order = submitted_case.confiscation_order
    assert submitted_case.status == CaseStatus.CONFISCATION_APPROVED
    assert order.document.kind == "COURT_ORDER" and order.document.uploaded_by == legal
    assert order.document_sha256 == order.document.sha256 == ORDER_SHA


def test_another_officers_review_is_refused_by_the_service_beside_the_form(
        web, legal2, reviewed_case, step_up_code):
    client = web(legal2)
    response = client.post(f"/cases/{reviewed_case.public_id}/order/",
                           {**ORDER, "otp": step_up_code(legal2)})
    html = response.content.decode()
    assert response.status_code == 200
    assert "forbidden" in html and "There is a problem" in html
    reviewed_case.refresh_from_db()
    assert reviewed_case.status == CaseStatus.UNDER_REVIEW


def test_return_for_correction_with_a_reason_and_the_clerk_sees_it(
        web, legal, clerk, reviewed_case, step_up_code):
    client = web(legal)
    url = f"/cases/{reviewed_case.public_id}/return/"
    assert "Return case AFM-2026-0102 for correction" in client.get(url).content.decode()
    empty = client.post(url, {"reason": "", "otp": step_up_code(legal)}).content.decode()
    assert "Enter what the clerk must correct" in empty
    done = client.post(url, {"reason": "Attach the seizure protocol scan.",
                             "otp": step_up_code(legal)})
    assert done.status_code == 302
    reviewed_case.refresh_from_db()
    assert reviewed_case.status == CaseStatus.RETURNED_FOR_CORRECTION
    clerk_page = web(clerk).get(f"/cases/{reviewed_case.public_id}/").content.decode()
    assert "Attach the seizure protocol scan." in clerk_page
    assert "Continue filing this case" in clerk_page


def test_an_order_under_appeal_then_its_outcome(web, legal, reviewed_case, step_up_code):
    client = web(legal)
    client.post(f"/cases/{reviewed_case.public_id}/order/",
                {**ORDER, "finality": "UNDER_APPEAL", "otp": step_up_code(legal)})
    reviewed_case.refresh_from_db()
    assert reviewed_case.status == CaseStatus.ON_APPEAL
    assert "On appeal" in client.get("/review/").content.decode()
    url = f"/cases/{reviewed_case.public_id}/appeal/outcome/"
    page = client.get(url).content.decode()
    assert "Appeal dismissed: the order stands" in page and "Order overturned" in page
    done = client.post(url, {"outcome": "UPHELD", "reason": "Appeal court 3-1/2026 dismissed.",
                             "otp": step_up_code(legal)})
    assert done.status_code == 302
    reviewed_case.refresh_from_db()
    assert reviewed_case.status == CaseStatus.CONFISCATION_APPROVED
    assert reviewed_case.confiscation_order.finality == ConfiscationOrder.Finality.FINAL


def test_reject_is_offered_and_done_with_a_reason(web, legal, reviewed_case, step_up_code):
    client = web(legal)
    done = client.post(f"/cases/{reviewed_case.public_id}/reject/",
                       {"reason": "Court refused confiscation.", "otp": step_up_code(legal)})
    assert done.status_code == 302
    reviewed_case.refresh_from_db()
    assert reviewed_case.status == CaseStatus.REJECTED
    page = client.get(f"/cases/{reviewed_case.public_id}/").content.decode()
    assert "Close the case" in page and "Reject the case" not in page


def test_evidence_downloads_with_its_hash(web, legal, clerk, submitted_case):
    evidence = services.evidence_upload(
        case=submitted_case, actor=clerk,
        uploaded_file=SimpleUploadedFile("scan.txt", b"scan of the protocol"))
    response = web(legal).get(
        f"/cases/{submitted_case.public_id}/evidence/{evidence.public_id}/download/")
    assert response.status_code == 200
    assert response["X-Content-SHA256"] == evidence.sha256
    assert b"".join(response.streaming_content) == b"scan of the protocol"


def test_a_clerk_of_another_agency_cannot_download(web, other_clerk, clerk, submitted_case):
    evidence = services.evidence_upload(
        case=submitted_case, actor=clerk,
        uploaded_file=SimpleUploadedFile("scan.txt", b"scan"))
    response = web(other_clerk).get(
        f"/cases/{submitted_case.public_id}/evidence/{evidence.public_id}/download/")
    assert response.status_code == 404


def test_a_discrepancy_is_shown_and_must_be_accepted_on_the_order_page(
        web, legal, reviewed_case, step_up_code):
    """The watcher found 0.20 BTC where 0.25 was declared: the page shows both, and the
    order is recorded only with the observed amount accepted and a reason."""
    asset = reviewed_case.assets.get()
    services.asset_record_observation(asset_id=asset.pk, verified=False,
                                      observed_amount=20_000_000,
                                      details={"observed_sats": 20_000_000})
    client = web(legal)
    url = f"/cases/{reviewed_case.public_id}/order/"
    page = client.get(url).content.decode()
    assert "The chain does not show what was declared" in page
    assert "0.25000000" in page and "0.20000000" in page
    assert f'value="{asset.public_id}=20000000"' in page  # the amount shown is the one sent

    refused = client.post(url, {**ORDER, "otp": step_up_code(legal),
                                "accepted_amounts": f"{asset.public_id}=20000000"})
    html = refused.content.decode()
    assert refused.status_code == 200
    assert "There is a problem" in html and "discrepancy_not_accepted" in html
    assert 'value="2-77/2026"' in html  # nothing typed is lost
    reviewed_case.refresh_from_db()
    assert reviewed_case.status == CaseStatus.UNDER_REVIEW

    done = client.post(url, {**ORDER, "otp": step_up_code(legal), "accept_observed": "on",
                             "accepted_amounts": f"{asset.public_id}=20000000",
                             "acceptance_reason": "The order confiscates what was found."})
    assert done.status_code == 302
    reviewed_case.refresh_from_db()
    asset.refresh_from_db()
    assert reviewed_case.status == CaseStatus.CONFISCATION_APPROVED
    assert (asset.accepted_amount, asset.acceptance_reason) == (
        20_000_000, "The order confiscates what was found.")
    case_page = client.get(done["Location"]).content.decode()
    assert "Observed amount accepted by legal: The order confiscates what was found." \
        in case_page
