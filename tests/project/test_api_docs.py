"""The API documents, per operation, the Idempotency-Key header and the error codes it can
answer (core.api.schema reads them from the code). The schemathesis test checks that every
error a generated request received is among them; these check what a reader relies on."""

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from core.api.schema import documented_codes


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_state_changing_operation_takes_an_idempotency_key(schema):
    posts = [(path, op) for path, method, op in operations(schema) if method == "post"]
    assert len(posts) > 20
    for path, operation in posts:
        headers = [p for p in operation.get("parameters", []) if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"], path
    gets = [op for _, method, op in operations(schema) if method == "get"]
    assert all("Idempotency-Key" not in str(op.get("parameters", [])) for op in gets)


def test_every_operation_documents_its_errors_in_the_one_format(schema):
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {
        "code", "detail", "errors"}
    for path, method, operation in operations(schema):
        errors = {status: r for status, r in operation["responses"].items()
                  if status.startswith("4")}
        assert {"401", "403", "429"} <= set(errors), (method, path)
        for status, response in errors.items():
            assert response["x-error-codes"], (method, path, status)
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}
            for code in response["x-error-codes"]:
                assert f"`{code}`" in response["description"]


@pytest.mark.parametrize("path, method, expected", [
    # the service's refusals, found by following the view into custody.services
    ("/api/v1/transfers/{transfer_id}/approve/", "post",
     {"own_transfer", "payload_changed", "already_approved", "second_factor_invalid",
      "second_factor_locked", "invalid_transition", "not_found", "idempotency_key_reused"}),
    ("/api/v1/transfers/{transfer_id}/signatures/", "post",
     {"psbt_mismatch", "signature_foreign_key", "signature_invalid", "no_new_signatures",
      "file_too_large"}),
    # intake: the filer never decides their own case; dates in the future are refused
    ("/api/v1/cases/{case_id}/approve/", "post", {"own_case", "date_in_future"}),
    ("/api/v1/cases/{case_id}/assets/", "post",
     {"invalid_address", "wrong_network", "invalid_amount", "private_key_refused"}),
    # lists: a filter the list does not know
    ("/api/v1/cases/", "get", {"invalid_filter", "second_factor_required"}),
])
def test_the_codes_a_service_raises_are_documented_for_the_operations_reaching_it(
        schema, path, method, expected):
    assert expected <= documented_codes(schema, path, method)


def test_a_code_is_not_documented_where_nothing_raises_it(schema):
    assert "own_transfer" not in documented_codes(schema, "/api/v1/cases/", "post")
    assert "idempotency_key_reused" not in documented_codes(schema, "/api/v1/cases/", "get")


def test_the_docs_pages_serve_the_schema_from_qazyna_itself(client):
    for name in ("api-docs", "api-redoc"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        page = response.content.decode()
        assert "/static/drf_spectacular_sidecar/" in page
        assert "https://" not in page and "http://" not in page.replace(
            "http://testserver", "")


def test_an_api_path_that_matches_no_route_answers_in_the_error_format(client):
    response = client.get("/api/v1/cases/not-a-uuid/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    page = client.get("/cases/not-a-uuid/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
