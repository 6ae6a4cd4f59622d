"""A second factor for test people: enrol a TOTP device and produce fresh codes (each call
a new time step, so django-otp's replay protection never refuses a test's next code)."""

import itertools

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import second_factor

_steps = itertools.count(1)
# The last step handed out per device: a code given with a refused decision is rolled back
# in django-otp's last_t but stays spent (core.second_factor), so it is never handed out again.
_issued: dict[int, int] = {}


def enrol(user):
    """A confirmed TOTP device for user (through the real enrolment)."""
    device = second_factor.enrol_start(user)
    # Tests make many decisions a second: accept codes further ahead than a person would.
    TOTPDevice.objects.filter(pk=device.pk).update(tolerance=200)
    second_factor.enrol_confirm(user, code_for(device, step=0))
    return TOTPDevice.objects.get(pk=device.pk)


def code_for(device, step=None):
    """A valid code; step 0 is now, otherwise the next unused step within tolerance."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    current = totp.t()
    target = current if step == 0 else max(current, device.last_t + 1,
                                           _issued.get(device.pk, -1) + 1)
    if target > current + device.tolerance:
        raise RuntimeError("no unused code left within the tolerance window")
    _issued[device.pk] = max(target, _issued.get(device.pk, -1))
    totp.time = totp.time + (target - current) * device.step
    return f"{totp.token():0{device.digits}d}"


def fresh_step_up(user):
    """A StepUp for user, enrolling them first if needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrol(user)
    return second_factor.step_up(user, code_for(device))


def login_verified(client, user):
    """client signed in as user, the session verified with their (enrolled) device, as after
    the sign-in page's code step."""
    from django_otp import DEVICE_ID_SESSION_KEY

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrol(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def otp(user):
    """A fresh code for user's decision over the API (enrolling them first if needed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrol(user)
    return code_for(device)
