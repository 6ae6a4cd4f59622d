import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_openapi_schema_describes_the_command_endpoints(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    assert "/api/v1/cases/{case_id}/approve/" in paths
    operation_ids = [op["operationId"] for path in paths.values() for op in path.values()
                     if isinstance(op, dict) and "operationId" in op]
    assert len(operation_ids) == len(set(operation_ids))
    assert "case_approve" in operation_ids
    approve = paths["/api/v1/cases/{case_id}/approve/"]["post"]
    body = approve["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("ApproveInputRequest")


def test_interactive_docs_are_served(client):
    assert client.get("/api/docs/").status_code == 200


def test_errors_share_one_format(api, clerk):
    response = api(clerk).post("/api/v1/cases/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "required"
    assert {"field", "code", "detail"} <= set(body["errors"][0])
    assert api(None).get("/api/v1/cases/").json()["code"] == "not_authenticated"


def test_home_page_is_the_application_and_links_the_api_docs(client):
    home = client.get("/")
    assert home.status_code == 302 and home["Location"].startswith("/sign-in/")
    page = client.get(home["Location"])
    assert page.status_code == 200
    assert b"/api/docs/" in page.content
