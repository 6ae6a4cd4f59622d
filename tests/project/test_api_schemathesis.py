"""schemathesis against the running API's OpenAPI schema (in-process WSGI), every operation
as every role: no input, however strange, gets a 5xx, and no 4xx changes anything (every
change writes an audit event, so a 4xx must leave the audit record as it was).

The budget is bounded for CI: the coverage phase (every boundary case the schema defines) plus
SCHEMATHESIS_EXAMPLES fuzzed examples per operation (default 4), each
sent as all five roles."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from core.api.authentication import issue_token
from core.models import AuditEvent
from core.roles import Role
from tests.support.factories import CaseFactory, UserFactory

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "4"))
CALLS = {"n": 0, "by_status": {}}


@pytest.fixture
def same_connection(db):
    """Like Django's test client: the requests keep the test's database connection (and
    its transaction) open between them."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def role_tokens(db, agency):
    people = {
        "clerk": UserFactory(username="s_clerk", agency=agency, roles=[Role.CLERK]),
        "legal": UserFactory(username="s_legal", roles=[Role.LEGAL_OFFICER]),
        "bank": UserFactory(username="s_bank", roles=[Role.BANK_OFFICER]),
        "auditor": UserFactory(username="s_auditor", roles=[Role.AUDITOR]),
        "admin": UserFactory(username="s_admin", roles=[Role.ADMIN], is_staff=True),
    }
    for status in ("DRAFT", "SUBMITTED", "UNDER_REVIEW", "CONFISCATION_APPROVED"):
        CaseFactory(agency=agency, status=status, filed_by=people["clerk"])
    return {role: issue_token(user=user, second_factor=True)[0]
            for role, user in people.items()}


def _load_schema():
    from config.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/", application)


schema = _load_schema()  # the schema view reads no database


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_5xx_and_no_4xx_changes_state(case, role_tokens, same_connection, custody_wallet):
    # A lockout (django-axes) is recorded even though its reply is a 403: a security record
    # of the attempt, not a change of state.
    changes = AuditEvent.objects.exclude(action="auth.locked_out")
    for role, token in role_tokens.items():
        before = changes.count()
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        CALLS["n"] += 1
        CALLS["by_status"][response.status_code] = \
            CALLS["by_status"].get(response.status_code, 0) + 1
        case.validate_response(response, checks=[not_a_server_error])
        if 400 <= response.status_code < 500:
            assert_code_documented(case, response)
            assert changes.count() == before, (
                f"{case.method} {case.formatted_path} as {role}: "
                f"{response.status_code} but the audit record grew")


def assert_code_documented(case, response):
    """Every error carries a stable code, and the schema lists it for this operation and
    status (core.api.schema reads them from the code; this is the check that it found
    them)."""
    if case.method.upper() != case.operation.method.upper():
        return  # the coverage phase's unsupported-method probe (405): no operation of ours
    content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/json"), (
        f"{case.method} {case.formatted_path}: {response.status_code} is not in the API's "
        "error format")
    code = response.json().get("code")
    documented = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    assert code in documented.get("x-error-codes", []), (
        f"{case.method} {case.operation.path}: {response.status_code} {code!r} is not among "
        f"the codes documented for it: {documented.get('x-error-codes')}")


def test_the_schemathesis_budget_was_spent():
    """Runs after the parametrized test (file order): it really sent requests."""
    if CALLS["n"] == 0:
        pytest.skip("run with the schemathesis test above")
    print(f"schemathesis: {CALLS['n']} calls, by status {sorted(CALLS['by_status'].items())}")
    assert CALLS["n"] >= 100
