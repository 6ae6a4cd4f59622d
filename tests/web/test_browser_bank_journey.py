"""The bank officers' journey in a real headless Chromium against a live server on
PostgreSQL, with a real Celery worker and the development chain: bank proposes moving a
confiscated case's custody coins to the reserve; bank2 and bank3 approve it with their
codes; the unsigned PSBT is downloaded from the page, signed offline by two throwaway test
signers (tools.demo_signer, the custody wallet's development keys), the signed copies are
uploaded through the page; the worker broadcasts; blocks are mined one at a time on the
development chain and the watcher (the worker's poll_chain) settles the transfer while the
page's progress bar advances, k of 6, by itself (htmx). Screenshots go to
test-artifacts/screenshots/bank-*.png (not committed)."""

import re
from pathlib import Path

import pytest
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from custody.models import JournalEntry, Transfer, TransferStatus
from intake.models import CaseStatus
from tests.support.custody import make_reserve_wallet
from tests.support.flow import confiscated_case_on_chain
from tools.demo_signer import sign_psbt

from .a11y import assert_accessible
from .test_browser_journeys import SHOTS, chromium, new_page, shot, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.worker,
              pytest.mark.django_db(transaction=True)]

CONFIRMATIONS = 6


class Authenticator:
    """A person's authenticator app, read from their device before the browser starts (no
    database calls while Playwright's loop runs): each code one 30-s step further than the
    last, as django-otp takes each step once and the test devices look 200 steps ahead."""

    def __init__(self, user):
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        self.key, self.step, self.t0 = device.bin_key, device.step, device.t0
        self.digits, self.drift = device.digits, device.drift
        self.last = device.last_t

    def code(self):
        totp = TOTP(self.key, self.step, self.t0, self.digits, self.drift)
        target = max(totp.t(), self.last + 1)
        totp.time = totp.time + (target - totp.t()) * self.step
        self.last = target
        return f"{totp.token():0{self.digits}d}"


def sign_in_with_code(page, base, username, app):
    sign_in(page, base, username)
    page.wait_for_url(re.compile(r"/second-factor/"))
    page.get_by_label("Code from your authenticator app").fill(app.code())
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name=f"Hello, {username}").wait_for()


def test_bank_officers_propose_approve_sign_and_watch_a_transfer_settle(
        chromium, live_server, custody_worker, devchain, clerk, legal, bank, bank2, bank3,  # noqa: F811
        admin_user, custody_wallet, tmp_path):
    from chain.tasks import poll_chain
    from custody.tasks import redrive_transfers_task

    reserve_wallet = make_reserve_wallet(admin=admin_user, approver=bank3)
    case = confiscated_case_on_chain(devchain=devchain, clerk=clerk, legal=legal)
    apps = {user.username: Authenticator(user) for user in (bank, bank2, bank3)}
    base = live_server.url
    number = case.case_number

    with chromium() as browser:
        # 1. bank proposes the transfer from the cases ready for it.
        page = new_page(browser)
        sign_in_with_code(page, base, "bank", apps["bank"])
        page.get_by_role("link", name=re.compile("Cases ready for transfer to the reserve")).click()
        shot(page, "bank-01-ready")
        page.get_by_role("link", name=f"Propose a transfer of case {number}").click()
        assert page.get_by_label("Reserve wallet").input_value() == str(reserve_wallet.public_id)
        page.get_by_role("button", name=f"Propose the transfer of case {number}").click()
        page.get_by_text("Transfer proposed").wait_for()
        transfer_url = page.url
        assert re.search(r"/reserve/transfers/[0-9a-f-]{36}/$", transfer_url)
        payload_hash = page.get_by_test_id("payload-hash").inner_text()
        assert re.fullmatch(r"[0-9a-f]{64}", payload_hash)
        assert page.get_by_test_id("approval-count").get_by_text("0 of 2 approvals").is_visible()
        shot(page, "bank-02-proposed")
        assert_accessible(page, "transfer page, proposed")
        # The proposer's own approval is refused by the service, its code beside the form.
        form = page.get_by_test_id("approve-form")
        form.get_by_label("Code from your authenticator app").fill(apps["bank"].code())
        form.get_by_role("button", name=re.compile(r"^Approve transfer of")).click()
        page.get_by_test_id("approve-form").get_by_text("own_transfer").wait_for()
        page.context.close()

        # 2. bank2 and bank3 approve the exact payload with their codes.
        for officer in ("bank2", "bank3"):
            page = new_page(browser)
            sign_in_with_code(page, base, officer, apps[officer])
            page.get_by_role("link", name=re.compile("Transfers waiting for your approval")).click()
            page.get_by_role("link", name=f"Transfer of case {number}").click()
            assert page.get_by_test_id("payload-hash").inner_text() == payload_hash
            form = page.get_by_test_id("approve-form")
            form.get_by_label("Code from your authenticator app").fill(apps[officer].code())
            shot(page, f"bank-03-approve-{officer}")
            form.get_by_role("button", name=re.compile(r"^Approve transfer of")).click()
            page.get_by_text("You approved the transfer").wait_for()
            page.context.close()

        # 3. The PSBT: downloaded, signed offline by two custody key holders, uploaded.
        page = new_page(browser)
        sign_in_with_code(page, base, "bank", apps["bank"])
        page.goto(transfer_url)
        assert page.get_by_test_id("approval-count").get_by_text("2 of 2 approvals").is_visible()
        with page.expect_download() as download:
            page.get_by_test_id("psbt-download").click()
        unsigned = Path(tmp_path / "unsigned.psbt")
        download.value.save_as(unsigned)
        shot(page, "bank-04-approved")
        for signer in ("c1", "c3"):
            signed, added = sign_psbt(unsigned.read_text(), signer)
            assert added == 1
            path = tmp_path / f"{signer}.psbt"
            path.write_text(signed)
            form = page.get_by_test_id("sign-form")
            form.get_by_label("Signed PSBT file").set_input_files(str(path))
            form.get_by_label("Code from your authenticator app").fill(apps["bank"].code())
            form.get_by_role("button", name="Upload the signed PSBT").click()
            page.get_by_text("Signed PSBT accepted").wait_for()
            shot(page, f"bank-05-signed-{signer}")
        assert page.locator("[data-testid^=signed-]").count() == 2

        # 4. The worker broadcasts; the page reloads itself when the state changes.
        progress = page.get_by_test_id("transfer-progress")
        for _ in range(40):
            if progress.get_attribute("data-status") in ("BROADCAST", "CONFIRMING"):
                break
            redrive_transfers_task.delay()
            page.wait_for_timeout(1000)
        page.get_by_test_id("confirmations-text").get_by_text(
            f"0 of {CONFIRMATIONS} confirmations").wait_for()
        txid = page.get_by_test_id("transfer-txid").inner_text()
        assert txid in devchain.rpc("getrawmempool")
        shot(page, "bank-06-broadcast")

        # 5. Blocks, one at a time: the bar advances by itself to settlement.
        for k in range(1, CONFIRMATIONS + 1):
            devchain.mine(1)
            want = (f"Settled: {CONFIRMATIONS} confirmations" if k == CONFIRMATIONS
                    else f"{k} of {CONFIRMATIONS} confirmations")
            for _ in range(30):
                poll_chain.delay()
                if page.get_by_test_id("confirmations-text").get_by_text(want).count():
                    break
                page.wait_for_timeout(1000)
            page.get_by_test_id("confirmations-text").get_by_text(want).wait_for()
            bar = page.get_by_role("progressbar", name="Confirmations")
            assert bar.get_attribute("aria-valuenow") == str(k)
            if k in (1, 3):
                shot(page, f"bank-07-confirming-{k}")
        status = page.get_by_test_id("transfer-status").text_content()
        assert status.strip() == "Settled in the reserve"
        assert page.get_by_test_id("transfer-progress").get_attribute("hx-trigger") is None
        shot(page, "bank-08-settled")
        assert_accessible(page, "transfer page, settled")

        # The transfer page in Russian, at tablet width.
        page.get_by_label("Language").select_option("ru")
        page.get_by_role("button", name="Change").click()
        page.get_by_test_id("transfer-status").get_by_text("Зачтено в резерв").wait_for()
        page.set_viewport_size({"width": 820, "height": 1180})
        shot(page, "bank-09-settled-ru-tablet")
        assert_accessible(page, "transfer page in Russian on a tablet")

    transfer = Transfer.objects.get(case=case)
    case.refresh_from_db()
    assert transfer.status == TransferStatus.SETTLED and transfer.txid == txid
    assert transfer.payload_hash == payload_hash
    assert sorted(a.approver.username for a in transfer.approvals.all()) == ["bank2", "bank3"]
    assert case.status == CaseStatus.IN_RESERVE
    assert JournalEntry.objects.get(transfer=transfer).kind == JournalEntry.Kind.TRANSFER_SETTLED
    assert transfer.settled_at <= timezone.now()
    assert (SHOTS / "bank-08-settled.png").exists()
