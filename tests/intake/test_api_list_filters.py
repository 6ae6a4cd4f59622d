"""Intake's list endpoints: query parameters are validated before the ORM (a bad one is a
400 invalid_filter, never a 500), and the typed values still filter as before."""

import uuid

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.models import CaseAlert, CaseStatus, HandoverEntry, SeizedAsset
from tests.api_filters import (
    assert_invalid_filter,
    assert_not_a_server_error,
    bad_filter_cases,
    query_params,
    raw_query_strings,
)
from tests.support.factories import CaseFactory

pytestmark = pytest.mark.django_db

CASE_FILTERS = {"status": ("choices", "DRAFT"), "agency": "code", "q": "text"}
FILTERED = {
    "cases": {**CASE_FILTERS, "page_size": "page_size"},
    "case-export": CASE_FILTERS,
    "alerts": {"open": "flag", "status": ("choices", "OPEN"), "kind": ("choices", "OTHER"),
               "case": "uuid", "page_size": "page_size"},
}
# Lists of what one case holds: small, not paginated, and they read no query parameters.
UNFILTERED = ["assets", "evidence", "custody-entries"]


@pytest.fixture
def listed(agency, other_agency, clerk):
    """A case in each of two agencies, with an asset, a custody entry and two alerts."""
    mine = CaseFactory(agency=agency, filed_by=clerk, case_number="AFM-1",
                       status=CaseStatus.SUBMITTED, owner_name="Owner One")
    theirs = CaseFactory(agency=other_agency, case_number="POL-7", owner_name="Owner Two")
    SeizedAsset.objects.create(case=mine, asset="BTC", network="regtest", declared_amount=5)
    HandoverEntry.objects.create(case=mine, item_kind="DEVICE", item_description="Trezor",
                                holder="Evidence room", held_from=timezone.now(),
                                recorded_by=clerk)
    CaseAlert.objects.create(case=mine, kind="OTHER", dedup_key="a", message="open")
    CaseAlert.objects.create(case=theirs, kind="OTHER", dedup_key="b", message="resolved",
                             status="RESOLVED", resolved_at=timezone.now())
    return {"mine": mine, "theirs": theirs}


def path_of(name, listed):
    case = listed["mine"].public_id
    return {"cases": "/api/v1/cases/", "case-export": "/api/v1/cases/export.csv",
            "alerts": "/api/v1/alerts/", "assets": f"/api/v1/cases/{case}/assets/",
            "evidence": f"/api/v1/cases/{case}/evidence/",
            "custody-entries": f"/api/v1/cases/{case}/custody-entries/"}[name]


@pytest.mark.parametrize(("name", "param", "value"), bad_filter_cases(FILTERED))
def test_a_bad_filter_is_a_400_naming_it(api, auditor, listed, name, param, value):
    assert_invalid_filter(api(auditor).get(path_of(name, listed), {param: value}), param)


def test_the_first_of_several_bad_filters_is_named_and_all_are_listed(api, auditor):
    body = api(auditor).get("/api/v1/cases/", {"status": "NOPE", "q": "\x00"}).json()
    assert body["code"] == "invalid_filter"
    assert {e["field"]: e["code"] for e in body["errors"]} == {
        "status": "invalid_choice", "q": "null_characters_not_allowed"}


def test_typed_filters_still_filter(api, auditor, listed):
    client = api(auditor)

    def numbers(params):
        return {c["case_number"] for c in client.get("/api/v1/cases/", params).json()["results"]}

    assert numbers({}) == {"AFM-1", "POL-7"}
    assert numbers({"status": "SUBMITTED"}) == {"AFM-1"}
    assert numbers({"status": "DRAFT,SUBMITTED"}) == {"AFM-1", "POL-7"}
    assert numbers({"status": "SUBMITTED,"}) == {"AFM-1"}
    assert numbers({"status": "", "agency": "", "q": ""}) == {"AFM-1", "POL-7"}
    assert numbers({"agency": "police"}) == {"POL-7"}
    assert numbers({"agency": "no-such-agency"}) == set()
    assert numbers({"q": "Owner One"}) == {"AFM-1"}
    assert numbers({"q": str(uuid.uuid4())}) == set()

    def exported(params):
        response = client.get("/api/v1/cases/export.csv", params)
        return b"".join(response.streaming_content).decode()

    assert "AFM-1" in exported({"status": "SUBMITTED"})
    assert "POL-7" not in exported({"status": "SUBMITTED"})
    assert "AFM-1" not in exported({"agency": "police"})

    def alerts(params):
        return {a["message"] for a in client.get("/api/v1/alerts/", params).json()["results"]}

    assert alerts({}) == alerts({"open": "0"}) == alerts({"open": "false"}) == {
        "open", "resolved"}
    assert alerts({"open": "1"}) == alerts({"open": "true"}) == {"open"}


def test_one_page_shape_and_page_size(api, auditor, listed):
    client = api(auditor)
    first = client.get("/api/v1/cases/", {"page_size": "1"}).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert (first["count"], len(first["results"]), first["previous"]) == (2, 1, None)
    assert "page=2" in first["next"] and "page_size=1" in first["next"]
    second = client.get(first["next"]).json()
    assert second["next"] is None and second["previous"]
    assert {first["results"][0]["id"], second["results"][0]["id"]} == {
        str(listed["mine"].public_id), str(listed["theirs"].public_id)}
    # Above the maximum (500) page_size is cut to it, as before.
    assert len(client.get("/api/v1/cases/", {"page_size": "100000"}).json()["results"]) == 2


def test_a_page_that_does_not_exist_is_still_a_404(api, auditor, listed):
    for page in ("3", "abc", "\x00", "9" * 5000):
        response = api(auditor).get("/api/v1/cases/", {"page": page})
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_unpaginated_lists_stay_lists_and_ignore_query_parameters(api, auditor, listed):
    for name in UNFILTERED:
        response = api(auditor).get(path_of(name, listed), {"page_size": "\x00", "q": "\x00"})
        assert response.status_code == 200
        assert isinstance(response.json(), list)


HYPOTHESIS = settings(max_examples=100, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow])


@pytest.mark.parametrize("name", [*FILTERED, *UNFILTERED])
@HYPOTHESIS
@given(data=st.data())
def test_an_auditor_never_gets_a_server_error(api, auditor, listed, name, data):
    params = data.draw(query_params(FILTERED.get(name, {})), label="params")
    response = api(auditor).get(path_of(name, listed), params)
    assert_not_a_server_error(response)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # a streamed export fails while it is read


@pytest.mark.parametrize("name", [*FILTERED, *UNFILTERED])
@HYPOTHESIS
@given(data=st.data())
def test_raw_query_strings_never_give_a_server_error(api, auditor, listed, name, data):
    query = data.draw(raw_query_strings(FILTERED.get(name, {})), label="query")
    response = api(auditor).get(path_of(name, listed), QUERY_STRING=query)
    assert_not_a_server_error(response)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # a streamed export fails while it is read
