"""all_or_nothing(): no savepoint directly inside another all_or_nothing block (the idempotent
API edge around a service), a savepoint anywhere else, so a caller's own atomic block can
catch a refusal and go on."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.models import Agency
from core.transactions import all_or_nothing

pytestmark = pytest.mark.django_db


class Refused(Exception):
    pass


def savepoints(captured):
    return sum(q["sql"].startswith("SAVEPOINT") for q in captured.captured_queries)


def test_directly_nested_blocks_share_one_savepoint_and_roll_back_together():
    with CaptureQueriesContext(connection) as captured, pytest.raises(Refused):
        with all_or_nothing():  # inside the test's transaction: a savepoint
            Agency.objects.create(code="outer", name="Outer")
            with all_or_nothing():  # directly inside: none
                Agency.objects.create(code="inner", name="Inner")
                raise Refused
    assert savepoints(captured) == 1
    assert not Agency.objects.filter(code__in=["outer", "inner"]).exists()  # usable, empty


def test_inside_a_callers_own_block_the_refusal_can_be_caught():
    with all_or_nothing(), CaptureQueriesContext(connection) as captured:
        Agency.objects.create(code="kept", name="Kept")
        with transaction.atomic():  # the caller's own block between the two
            try:
                with all_or_nothing():
                    Agency.objects.create(code="gone", name="Gone")
                    raise Refused
            except Refused:
                pass
            assert Agency.objects.filter(code="kept").exists()  # the transaction goes on
    assert savepoints(captured) == 2
    assert list(Agency.objects.filter(code__in=["kept", "gone"])
                .values_list("code", flat=True)) == ["kept"]
