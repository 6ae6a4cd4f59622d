"""The embedded default's demo people can walk the journeys in the pages: the clerk files,
the legal officer (enrolled with a development key) signs in with a code and reviews."""

import pytest
from django.core.management import call_command

from tools.demo_otp import demo_code

pytestmark = pytest.mark.django_db

PASSWORD = "qazyna-demo"


@pytest.fixture
def demo(db):
    call_command("load_demo_data", verbosity=0)


def sign_in(client, username):
    return client.post("/sign-in/", {"username": username, "password": PASSWORD})


def test_the_demo_clerk_signs_in_and_can_file(client, demo):
    assert sign_in(client, "clerk")["Location"] == "/"
    cases = client.get("/cases/").content.decode()
    assert "AFM-2026-0001" in cases  # the demo draft
    assert client.get("/cases/new/").status_code == 200


def test_the_demo_legal_officer_signs_in_with_the_development_code(client, demo):
    sign_in(client, "legal")
    verify = client.get("/")["Location"]
    assert verify.startswith("/second-factor/")
    page = client.get(verify).content.decode()
    assert "tools.demo_otp legal" in page  # how the newcomer gets the code
    response = client.post(verify, {"code": demo_code("legal"), "next": "/review/"})
    assert response["Location"] == "/review/"
    queue = client.get("/review/").content.decode()
    assert "AFM-2026-0002" in queue  # submitted, waiting for a reviewer
    assert "AFM-2026-0001" not in queue  # a draft


def test_the_demo_funded_cases_are_verified_so_their_transfer_can_be_walked(devchain):
    """scripts/run.sh loads the demo with --fund-on-devchain, then walks AFM-2026-0006's
    transfer: only a verified asset may leave custody, so the loader checks the sweeps."""
    from intake.models import SeizedAsset, VerificationStatus

    call_command("load_demo_data", fund_on_devchain=True, verbosity=0)
    funded = SeizedAsset.objects.filter(case__case_number__in=["AFM-2026-0004",
                                                               "AFM-2026-0006"])
    assert sorted(funded.values_list("verification_status", flat=True)) == [
        VerificationStatus.VERIFIED] * 2
    assert all(asset.may_leave_custody for asset in funded)
