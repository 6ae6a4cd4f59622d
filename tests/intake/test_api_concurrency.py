"""Two people acting on the same case at the same moment, on real PostgreSQL connections."""

import pytest

from core.models import AuditEvent
from intake.models import CaseStatus, ConfiscationOrder
from tests.support.api import CASE_PAYLOAD, ORDER_PAYLOAD, attach_documents, url
from tests.support.concurrency import run_at_once
from tests.support.factories import CaseFactory
from tests.support.second_factor import otp


def race(calls):
    """The responses of calls released together; any exception fails the test."""
    results = run_at_once(*calls)
    for outcome, value in results:
        if outcome == "error":
            raise value
    return [value for _, value in results]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_legal_officers_approve_at_once_exactly_one_wins(api, agency, legal, legal2,
                                                              postgresql, attempt):
    # Under review, not yet claimed by either officer: both may decide.
    case = attach_documents(CaseFactory(agency=agency, status=CaseStatus.UNDER_REVIEW,
                                        reviewer=None))
    codes = {legal: otp(legal), legal2: otp(legal2)}
    events_before = AuditEvent.objects.count()
    responses = race([
        lambda: api(legal).post(url(case.public_id, "approve"),
                                {**ORDER_PAYLOAD, "otp": codes[legal]}, format="json"),
        lambda: api(legal2).post(url(case.public_id, "approve"),
                                 {**ORDER_PAYLOAD, "order_number": "other",
                                  "otp": codes[legal2]}, format="json"),
    ])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409], [r.json() for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["code"] == "invalid_transition"
    case.refresh_from_db()
    assert case.status == CaseStatus.CONFISCATION_APPROVED
    assert ConfiscationOrder.objects.filter(case=case).count() == 1
    assert AuditEvent.objects.filter(action="case.confiscation_approved").count() == 1
    assert AuditEvent.objects.count() == events_before + 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unforked_audit_chain(api, agency, clerk, postgresql,
                                                           custody_wallet):
    from core.audit import verify_chain

    cases = [CaseFactory(agency=agency, case_number=f"C-{i}") for i in range(6)]
    responses = race([
        (lambda c=c: api(clerk).post(url(c.public_id, sub="assets"),
                                     {"asset": "BTC", "network": "regtest",
                                      "declared_amount": 1000}, format="json"))
        for c in cases
    ])
    assert [r.status_code for r in responses] == [201] * 6
    addresses = {r.json()["custody_address"] for r in responses}
    assert len(addresses) == 6  # six cases, six indexes, six addresses
    result = verify_chain()
    assert result.ok, result
    seqs = list(AuditEvent.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(2))
def test_concurrent_filings_of_one_agency_take_distinct_indexes_without_gaps(
        api, clerk, postgresql, custody_wallet, attempt):
    """Eight clerks' filings at once, each a case with two BTC assets in one request: the
    custody index is taken by UPDATE … RETURNING without a row lock before it, and every
    case still gets its own index and address, with no index skipped; one unforked chain."""
    from core.audit import verify_chain
    from intake.models import SeizureCase

    assets = [{"asset": "BTC", "network": "regtest", "declared_amount": 1000},
              {"asset": "BTC", "network": "regtest", "declared_amount": 2000}]
    responses = race([
        (lambda i=i: api(clerk).post(url(), {**CASE_PAYLOAD, "case_number": f"F-{i}",
                                             "assets": assets}, format="json",
                                     headers={"Idempotency-Key": f"file-{attempt}-{i}"}))
        for i in range(8)
    ])
    assert [r.status_code for r in responses] == [201] * 8, [r.json() for r in responses]
    assert sorted(r.json()["custody_index"] for r in responses) == list(range(8))
    assert len({r.json()["custody_address"] for r in responses}) == 8
    custody_wallet.refresh_from_db()
    assert custody_wallet.next_index == 8
    for case in SeizureCase.objects.prefetch_related("assets"):
        assert {a.custody_address for a in case.assets.all()} == {case.custody_address}
    result = verify_chain()
    assert result.ok, result
    assert AuditEvent.objects.filter(action="case.custody_address_assigned").count() == 8
