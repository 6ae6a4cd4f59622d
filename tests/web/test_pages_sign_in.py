"""Sign-in, the second-factor gate (enrol → backup codes once → in; or a code), sign-out,
and the language switch."""

import re
import time

import django_otp
import pytest
from django.test import Client

from core import second_factor
from core.models import AuditEvent
from core.web import registry

from .conftest import enrol, totp_code

pytestmark = pytest.mark.django_db


def sign_in(client, username):
    return client.post("/sign-in/", {"username": username, "password": "pw"})


def test_anonymous_people_are_sent_to_sign_in_and_back(client):
    response = client.get("/cases/?status=DRAFT")
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/?next=%2Fcases%2F%3Fstatus%3DDRAFT"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert b'name="next" value="/cases/?status=DRAFT"' in page.content


def test_a_clerk_goes_straight_in_without_a_second_factor(client, clerk):
    response = sign_in(client, "clerk")
    assert response.status_code == 302 and response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "What needs you now" in home.content.decode()
    assert AuditEvent.objects.filter(action="auth.login", actor_username="clerk").exists()


def test_a_wrong_password_says_so_keeps_the_username_and_links_the_summary(client, clerk):
    page = client.post("/sign-in/", {"username": "clerk", "password": "nope"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "There is a problem" in html and "data-error-summary" in html
    assert "The username or password is not right" in html
    assert 'value="clerk"' in html
    assert "<title>Error:" in html


def test_a_legal_officer_must_set_up_the_authenticator_before_any_page(client, legal):
    sign_in(client, "legal")
    response = client.get("/cases/")
    assert response["Location"] == "/second-factor/set-up/?next=%2Fcases%2F"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "<svg" in html
    uri = re.search(r'data-testid="provisioning-uri">([^<]+)<', html).group(1)
    assert uri.startswith("otpauth://totp/Qazyna")
    # No page of the application answers before the second factor.
    assert client.get("/").status_code == 302
    assert client.get("/review/").status_code == 302


def test_enrolment_with_a_wrong_code_shows_the_code_and_keeps_nothing_typed(client, legal):
    sign_in(client, "legal")
    device = second_factor.enrol_start(legal)
    wrong = "000000" if totp_code(device) != "000000" else "111111"
    page = client.post("/second-factor/set-up/?next=/cases/", {"code": wrong,
                                                              "next": "/cases/"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "second_factor_invalid" in html
    assert f'value="{wrong}"' not in html  # a code is never echoed back
    assert not second_factor.is_enrolled(legal)


def test_enrolment_shows_the_backup_codes_once_and_lets_the_person_in(client, legal):
    sign_in(client, "legal")
    client.get("/second-factor/set-up/")
    device = second_factor.enrol_start(legal)
    response = client.post("/second-factor/set-up/", {"code": totp_code(device),
                                                      "next": "/review/"})
    assert response["Location"] == "/second-factor/backup-codes/?next=%2Freview%2F"
    codes_page = client.get(response["Location"]).content.decode()
    codes = re.findall(r"<li><code>([^<]+)</code></li>", codes_page)
    assert len(codes) == 10
    assert 'href="/review/"' in codes_page
    # Shown once: the second visit has none.
    again = client.get("/second-factor/backup-codes/")
    assert again.status_code == 302
    assert client.get("/review/").status_code == 200
    assert second_factor.is_enrolled(legal)


def test_an_enrolled_officer_enters_a_code_or_a_backup_code(legal):
    device, codes = enrol(legal)
    client = Client()
    sign_in(client, "legal")
    assert client.get("/")["Location"] == "/second-factor/?next=%2F"
    # The set-up page cannot replace a device without the current one.
    assert client.get("/second-factor/set-up/")["Location"].startswith("/second-factor/")
    wrong = client.post("/second-factor/", {"code": "12345"})
    assert "second_factor_invalid" in wrong.content.decode()
    time.sleep(1.1)  # django-otp throttles after a failure: 1 s, then doubling
    ok = client.post("/second-factor/?next=/review/", {"code": codes[0], "next": "/review/"})
    assert ok["Location"] == "/review/"
    assert client.get("/review/").status_code == 200
    assert client.session[django_otp.DEVICE_ID_SESSION_KEY]


def test_sign_out_is_a_post_and_ends_the_session(web, clerk):
    client = web(clerk)
    assert client.get("/").status_code == 200
    assert client.post("/sign-out/").status_code == 302
    assert client.get("/").status_code == 302


def test_the_language_switch_posts_to_set_language_and_the_page_follows(web, clerk):
    client = web(clerk)
    response = client.post("/i18n/setlang/", {"language": "kk", "next": "/cases/"})
    assert response.status_code == 302 and response["Location"] == "/cases/"
    page = client.get("/cases/").content.decode()
    assert '<html lang="kk">' in page
    assert "Істер" in page  # "Cases"
    client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert "Дела" in client.get("/cases/").content.decode()


def test_pages_refuse_roles_they_are_not_for(web, auditor, legal):
    assert web(auditor).get("/cases/new/").status_code == 403
    assert web(auditor).get("/review/").status_code == 403
    assert web(legal).get("/cases/new/").status_code == 403


def test_the_home_page_lists_what_needs_each_role(web, clerk, legal, submitted_case):
    clerk_home = web(clerk).get("/").content.decode()
    assert "File a new case" in clerk_home
    legal_home = web(legal).get("/").content.decode()
    assert "Cases waiting for a reviewer" in legal_home
    assert 'href="/review/"' in legal_home


def test_a_provider_path_that_does_not_import_fails_the_system_check(monkeypatch):
    monkeypatch.setattr(registry, "_work", [*registry._work, "intake.web.nowhere.nothing"])
    errors = registry.check_providers()
    assert [e.id for e in errors] == ["core.E101"]


def test_a_locked_out_sign_in_is_a_page_with_its_code_in_the_persons_language(settings):
    """django-axes' lockout on the web sign-in: the site's own error page with the code (not
    JSON, not plain text, never a 500), in the person's language; nobody is signed in."""
    from tests.support.factories import UserFactory

    UserFactory(username="person", roles=["clerk"])  # password "pw"
    client = Client(REMOTE_ADDR="10.8.8.8")
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post("/sign-in/", {"username": "person", "password": f"guess-{n}"})
    locked = client.post("/sign-in/", {"username": "person", "password": "pw"})
    assert locked.status_code == 403
    assert locked["Content-Type"].startswith("text/html")
    html = locked.content.decode()
    assert '<code class="error-code">locked_out</code>' in html
    assert "Signing in is locked for a while" in html
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.locked_out").exists()

    russian = Client(REMOTE_ADDR="10.8.8.8", HTTP_ACCEPT_LANGUAGE="ru")
    page = russian.post("/sign-in/", {"username": "person", "password": "pw"})
    assert page.status_code == 403 and 'lang="ru"' in page.content.decode()
    assert "Вход временно заблокирован" in page.content.decode()
    assert "locked_out" in page.content.decode()
