"""TOTP enrolment, backup codes and step-up (core.second_factor)."""

import pytest
from django_otp.oath import TOTP

from core import second_factor
from core.errors import PermissionRefused, ValidationFailed
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def current_code(device, drift=0):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + drift * device.step
    return f"{totp.token():0{device.digits}d}"


def test_who_needs_a_second_factor(clerk, legal, bank, auditor, admin_user):
    assert [second_factor.needs_second_factor(u) for u in (clerk, legal, bank, auditor,
                                                           admin_user)] == [
        False, True, True, False, True]


@pytest.fixture
def newcomer(db):
    """A bank officer on their first day: not enrolled yet."""
    from tests.support.factories import UserFactory

    return UserFactory(username="newcomer", roles=["bank_officer"])


def test_enrolment_confirms_with_a_code_and_issues_one_time_backup_codes(newcomer):
    bank = newcomer
    device = second_factor.enrol_start(bank)
    assert second_factor.enrol_start(bank).pk == device.pk  # the same until confirmed
    assert second_factor.provisioning_uri(device).startswith("otpauth://totp/Qazyna")
    assert "<svg" in second_factor.qr_svg(device)
    assert not second_factor.is_enrolled(bank)
    with pytest.raises(ValidationFailed) as wrong:
        second_factor.enrol_confirm(bank, "000000" if current_code(device) != "000000"
                                    else "111111")
    assert wrong.value.code == "second_factor_invalid"
    codes = second_factor.enrol_confirm(bank, current_code(device))
    assert len(codes) == 10 == len(set(codes))
    assert second_factor.is_enrolled(bank)
    assert AuditEvent.objects.filter(action="auth.second_factor_enrolled",
                                     object_id=str(bank.public_id)).exists()
    proof = second_factor.step_up(bank, codes[0])
    assert proof.device == "backup" and proof.user_id == bank.pk
    with pytest.raises(PermissionRefused) as reused:
        second_factor.step_up(bank, codes[0])
    assert reused.value.code == "second_factor_invalid"


def test_step_up_needs_enrolment_a_code_and_the_right_code(newcomer):
    bank = newcomer
    with pytest.raises(PermissionRefused) as not_enrolled:
        second_factor.step_up(bank, "123456")
    assert not_enrolled.value.code == "second_factor_required"
    device = second_factor.enrol_start(bank)
    second_factor.enrol_confirm(bank, current_code(device))
    device.refresh_from_db()
    with pytest.raises(PermissionRefused) as missing:
        second_factor.step_up(bank, "")
    assert missing.value.code == "second_factor_required"
    proof = second_factor.step_up(bank, current_code(device, drift=1))
    assert proof.device == "totp"
    assert second_factor.require_step_up(bank, proof) is proof


def test_a_step_up_is_bound_to_the_person_who_gave_it(newcomer, bank2):
    bank = newcomer
    device = second_factor.enrol_start(bank)
    second_factor.enrol_confirm(bank, current_code(device))
    proof = second_factor.step_up(bank, current_code(device, drift=1))
    with pytest.raises(PermissionRefused):
        second_factor.require_step_up(bank2, proof)
    with pytest.raises(PermissionRefused):
        second_factor.require_step_up(bank, None)
