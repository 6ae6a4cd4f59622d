"""A legal officer approving a case whose asset shows a discrepancy sees it and accepts the
observed amount explicitly, with a reason (issue 11, point 2). The discrepancy is real: the
sweep paid less than declared, on the development chain and on Bitcoin Core v30."""

import pytest

from chain import watcher
from chain.adapter import get_adapter
from core.audit import verify_chain
from core.models import AuditEvent
from intake.models import CaseStatus, SeizedAsset
from intake.verification import mark_assets_due, verify_asset
from tests.support.api import CASE_PAYLOAD, ORDER_PAYLOAD, upload_document, url
from tests.support.second_factor import otp

pytestmark = pytest.mark.django_db

DECLARED = 50_000_000
SWEPT = 30_000_000


@pytest.fixture
def adapter(chain_node):
    return get_adapter()


def reviewed_case_with_a_short_sweep(chain_node, adapter, api, clerk, legal):
    clerk_api = api(clerk)
    case = clerk_api.post(url(), CASE_PAYLOAD, format="json").json()
    asset = clerk_api.post(url(case["id"], sub="assets"),
                           {"asset": "BTC", "network": "regtest", "declared_amount": DECLARED},
                           format="json").json()
    txid = chain_node.fund(asset["custody_address"], SWEPT)
    reply = clerk_api.post(url(case["id"], sub=f"assets/{asset['id']}/sweeps"),
                           {"txid": txid}, format="json")
    assert reply.status_code == 201, reply.json()
    chain_node.mine(1)
    watcher.poll(adapter)
    mark_assets_due()
    assert verify_asset(SeizedAsset.objects.get(public_id=asset["id"]).pk,
                        adapter) == "discrepancy"
    upload_document(clerk_api, case["id"], kind="WARRANT", content=b"%PDF-1.4 warrant W-77",
                    name="warrant.pdf")
    assert clerk_api.post(url(case["id"], "submit")).status_code == 200
    assert api(legal).post(url(case["id"], "start-review")).status_code == 200
    upload_document(api(legal), case["id"], kind="COURT_ORDER")  # the order ORDER_PAYLOAD names
    return case, asset


def test_approving_a_discrepant_case_needs_the_observed_amount_accepted_with_a_reason(
        chain_node, adapter, api, clerk, legal, custody_wallet, settings):
    settings.INTAKE_CONFIRMATIONS = 1
    case, asset = reviewed_case_with_a_short_sweep(chain_node, adapter, api, clerk, legal)
    legal_api = api(legal)
    approve = url(case["id"], "approve")
    # What the officer sees before deciding: declared and observed, side by side.
    seen = legal_api.get(url(case["id"], sub="assets")).json()
    seen = (seen["results"] if isinstance(seen, dict) else seen)[0]
    assert (seen["verification_status"], seen["declared_amount"], seen["observed_amount"]) \
        == ("DISCREPANCY", DECLARED, SWEPT)
    events = AuditEvent.objects.count()

    refusals = [
        ORDER_PAYLOAD,  # not accepted at all
        {**ORDER_PAYLOAD, "accept_observed": [{"asset": asset["id"],
                                               "observed_amount": SWEPT}]},  # no reason
        {**ORDER_PAYLOAD, "accept_observed": [{"asset": asset["id"],  # not what is observed
                                               "observed_amount": DECLARED}],
         "acceptance_reason": "The order names the declared amount."},
    ]
    for payload in refusals:
        reply = legal_api.post(approve, payload, format="json")
        body = reply.json()
        assert (reply.status_code, body["code"]) == (409, "discrepancy_not_accepted"), body
        assert body["discrepancies"] == [{"asset": asset["id"], "declared_amount": DECLARED,
                                          "observed_amount": SWEPT}]
    assert AuditEvent.objects.count() == events
    bad = legal_api.post(approve, {**ORDER_PAYLOAD, "accept_observed": [
        {"asset": asset["id"], "observed_amount": 0.3}], "acceptance_reason": "x"},
        format="json")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_amount")
    assert legal_api.get(url(case["id"])).json()["status"] == CaseStatus.UNDER_REVIEW

    reason = "The court's order confiscates what was found at the custody address."
    reply = legal_api.post(approve, {**ORDER_PAYLOAD, "accept_observed": [
        {"asset": asset["id"], "observed_amount": SWEPT}], "acceptance_reason": reason,
        "otp": otp(legal)}, format="json")
    assert (reply.status_code, reply.json()["status"]) == (200, "CONFISCATION_APPROVED")
    seen = legal_api.get(url(case["id"], sub="assets")).json()
    seen = (seen["results"] if isinstance(seen, dict) else seen)[0]
    assert (seen["accepted_amount"], seen["acceptance_reason"]) == (SWEPT, reason)
    accepted = AuditEvent.objects.get(action="asset.discrepancy_accepted")
    assert accepted.reason == reason and accepted.actor_username == "legal"
    approved = AuditEvent.objects.get(action="case.confiscation_approved")
    assert approved.after["accepted_discrepancies"] == [
        {"asset": asset["id"], "declared_amount": DECLARED, "accepted_amount": SWEPT}]
    assert SeizedAsset.objects.get(public_id=asset["id"]).may_leave_custody
    assert verify_chain().ok
