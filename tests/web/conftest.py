"""People signed in to the web pages, second factor and all, and cases made through the
services (never written straight to the tables)."""

import datetime as dt
import hashlib

import django_otp
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_otp.oath import TOTP

from core import second_factor
from intake import services
from intake.models import Evidence


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives a real headless Chromium against a live server")


def totp_code(device, steps_ahead=0):
    """The code the person's authenticator app shows (steps_ahead: a later 30-s step, for a
    second code in the same test: django-otp refuses a code twice)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(user):
    """A confirmed authenticator for user; returns (device, backup codes)."""
    device = second_factor.enrol_start(user)
    codes = second_factor.enrol_confirm(user, totp_code(device))
    device.refresh_from_db()
    return device, codes


@pytest.fixture
def web():
    """web(user) → a Client signed in as user; people who need a second factor have one,
    and the session went through it (as after the code page)."""

    def make(user=None, *, verified=True):
        client = Client()
        if user is None:
            return client
        client.force_login(user)
        if second_factor.needs_second_factor(user) and verified:
            device = getattr(user, "_test_device", None)
            if device is None:
                device, codes = enrol(user)
                user._test_device, user._test_backup_codes = device, list(codes)
            session = client.session
            session[django_otp.DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    return make


@pytest.fixture
def step_up_code():
    """step_up_code(user) → a fresh code for a decision: first the authenticator's next
    30-s step (enrolment used this one; django-otp refuses a code twice and looks one step
    ahead at most), then the person's one-time backup codes."""
    used = set()

    def make(user):
        if user.pk not in used:
            used.add(user.pk)
            return totp_code(user._test_device, steps_ahead=1)
        return user._test_backup_codes.pop()

    return make


CASE_DATA = {
    "case_number": "AFM-2026-0101",
    "warrant_number": "W-101/2026",
    "warrant_date": dt.date(2026, 3, 1),
    "seizure_protocol_number": "SP-101",
    "seizure_date": dt.date(2026, 3, 2),
    "owner_name": "Suspect One",
    "owner_identifier": "900101300123",
    "owner_details": "",
    "description": "Hardware wallet seized at the suspect's home.",
}
ORDER_DOCUMENT = b"%PDF-1.4 court order scan"
ORDER_SHA = hashlib.sha256(ORDER_DOCUMENT).hexdigest()


def upload_order_document(case, legal):
    """The court order's document, uploaded to the case by its reviewing legal officer."""
    return services.evidence_upload(
        case=case, actor=legal, kind=Evidence.Kind.COURT_ORDER,
        uploaded_file=SimpleUploadedFile("order.pdf", ORDER_DOCUMENT))


def file_case(clerk, *, number="AFM-2026-0101", sats=25_000_000, submit=False):
    case = services.case_create(actor=clerk, data={**CASE_DATA, "case_number": number})
    services.asset_add(case=case, actor=clerk, asset="BTC", network="regtest",
                       declared_amount=sats)
    if submit:
        services.evidence_upload(case=case, actor=clerk, kind=Evidence.Kind.WARRANT,
                                 uploaded_file=SimpleUploadedFile(
                                     "warrant.pdf", f"%PDF-1.4 warrant {number}".encode()))
        services.case_submit(case=case, actor=clerk)
    case.refresh_from_db()
    return case


@pytest.fixture
def draft_case(clerk, custody_wallet):
    return file_case(clerk)


@pytest.fixture
def submitted_case(clerk, custody_wallet):
    return file_case(clerk, number="AFM-2026-0102", submit=True)


@pytest.fixture
def other_agency_case(other_clerk, other_custody_wallet):
    return file_case(other_clerk, number="POL-2026-0001", submit=True)
