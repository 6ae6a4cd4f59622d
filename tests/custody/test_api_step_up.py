"""Step-up codes over the API (issue: no single person… point 2): guessing a decision's code
is locked out like guessing a password."""

import pytest

pytestmark = pytest.mark.django_db



def test_wrong_step_up_codes_lock_decisions_although_each_refusal_rolls_back(
        api, case, reserve_wallet, bank, bank2, no_chain, settings):
    """A decision checks its code inside the service's transaction; the refusal rolls back
    django-otp's failure counter with it. The cache's count survives: after the limit, even
    the right code is refused."""
    from custody import services
    from tests.support.custody import fake_utxos
    from tests.support.second_factor import otp

    settings.SECOND_FACTOR_FAILURE_LIMIT = 3
    transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                         utxos=fake_utxos(case, 10_000_000))
    url = f"/api/v1/transfers/{transfer.public_id}/approve/"
    right = otp(bank2)
    wrong = "000000" if right != "000000" else "111111"
    body = {"payload_hash": transfer.payload_hash}
    for _ in range(3):
        reply = api(bank2).post(url, {**body, "otp": wrong}, format="json")
        assert reply.json()["code"] == "second_factor_invalid"
    reply = api(bank2).post(url, {**body, "otp": right}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (403, "second_factor_locked")
    assert not transfer.approvals.exists()


def test_attack_a_code_is_not_good_twice_although_a_late_refusal_rolls_back(
        api, case, reserve_wallet, bank, bank2, no_chain):
    """A decision's code is verified, then the service refuses (here: the payload changed)
    and its transaction rolls back django-otp's record of the code with everything else.
    Used codes are also kept outside that transaction: the same code never works again."""
    from custody import services
    from tests.support.custody import fake_utxos
    from tests.support.second_factor import otp

    transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                         utxos=fake_utxos(case, 10_000_000))
    url = f"/api/v1/transfers/{transfer.public_id}/approve/"
    code = otp(bank2)
    stale = api(bank2).post(url, {"payload_hash": "0" * 64, "otp": code}, format="json")
    assert (stale.status_code, stale.json()["code"]) == (409, "payload_changed")
    replayed = api(bank2).post(url, {"payload_hash": transfer.payload_hash, "otp": code},
                               format="json")
    assert (replayed.status_code, replayed.json()["code"]) == (403, "second_factor_invalid")
    assert not transfer.approvals.exists()
    fresh = api(bank2).post(url, {"payload_hash": transfer.payload_hash, "otp": otp(bank2)},
                            format="json")
    assert fresh.status_code == 200, fresh.json()
