"""The case list: counts right, and the number of queries does not grow with the page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from intake.models import CaseAlert, SeizedAsset
from intake.selectors import case_list_for_user
from tests.support.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_each_case_carries_its_asset_and_open_alert_counts(clerk, auditor):
    busy, quiet = CaseFactory(agency=clerk.agency), CaseFactory(agency=clerk.agency)
    for amount in (1, 2, 3):
        SeizedAsset.objects.create(case=busy, asset="OTHER", network="n/a",
                                   declared_amount=amount, verification_status="UNTRACKED")
    CaseAlert.objects.create(case=busy, kind="OTHER", dedup_key="a", message="open")
    resolved = CaseAlert.objects.create(case=busy, kind="OTHER", dedup_key="b", message="done")
    resolved.status, resolved.resolved_at = "RESOLVED", resolved.created_at
    resolved.save()
    counts = {c.pk: (c.asset_count, c.open_alert_count)
              for c in case_list_for_user(user=auditor)}
    assert counts == {busy.pk: (3, 1), quiet.pk: (0, 0)}


@pytest.mark.parametrize("who", ["clerk", "auditor"])
def test_the_list_query_count_is_constant_in_the_page_size(api, clerk, auditor, who):
    user = {"clerk": clerk, "auditor": auditor}[who]
    for _ in range(30):
        case = CaseFactory(agency=clerk.agency)
        SeizedAsset.objects.create(case=case, asset="OTHER", network="n/a",
                                   declared_amount=1, verification_status="UNTRACKED")
    client = api(user)
    client.get("/api/v1/cases/", {"page_size": 1})  # warm: sessions, content types

    def queries(page_size):
        with CaptureQueriesContext(connection) as captured:
            reply = client.get("/api/v1/cases/", {"page_size": page_size})
        assert reply.status_code == 200 and len(reply.json()["results"]) == page_size
        return len(captured)

    assert queries(3) == queries(25)


def test_the_list_query_aggregates_nothing_over_the_visible_set(auditor):
    """No GROUP BY on the outer query: the counts are per-row subqueries, so ORDER BY …
    LIMIT applies before any counting (the old query grouped every visible case)."""
    query = case_list_for_user(user=auditor)[:50].query
    assert query.group_by is None
    assert "LIMIT 50" in str(query).upper()
