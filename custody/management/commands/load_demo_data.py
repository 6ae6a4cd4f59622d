"""Demo data for the embedded default: one user per role, agencies, a custody wallet from
development keys, and cases in different states — all made through the services, so the
audit record of the demo is as real as any other.

DEVELOPMENT ONLY: the custody wallet's keys are tools/demo_signer's throwaway keys."""

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.bitcoin import format_btc
from core.errors import PermissionRefused
from core.models import Agency, User
from core.roles import Role, sync_role_groups
from core.second_factor import needs_second_factor, step_up
from custody import services as custody
from intake import services, verification
from intake.models import Evidence, VerificationStatus
from intake.services import custody_wallet_register
from tools.demo_otp import demo_code, demo_key_hex
from tools.demo_signer import key_expression

DEMO_PASSWORD = "qazyna-demo"
CUSTODY_SIGNERS = ("custody-1", "custody-2", "custody-3")
RESERVE_SIGNERS = ("reserve-1", "reserve-2", "reserve-3")

PEOPLE = [
    # username, roles, agency code, staff
    ("admin", [Role.ADMIN], None, True),
    ("clerk", [Role.CLERK], "afm", False),
    ("clerk_police", [Role.CLERK], "police", False),
    ("legal", [Role.LEGAL_OFFICER], "gp", False),
    ("legal2", [Role.LEGAL_OFFICER], "gp", False),
    ("bank1", [Role.BANK_OFFICER], "nbk", False),
    ("bank2", [Role.BANK_OFFICER], "nbk", False),
    ("bank3", [Role.BANK_OFFICER], "nbk", False),
    ("auditor", [Role.AUDITOR], "audit", False),
]
AGENCIES = [
    ("afm", "Agency for Financial Monitoring", Agency.Kind.LAW_ENFORCEMENT),
    ("police", "Ministry of Internal Affairs", Agency.Kind.LAW_ENFORCEMENT),
    ("gp", "General Prosecutor's Office", Agency.Kind.PROSECUTOR),
    ("nbk", "National Bank of Kazakhstan", Agency.Kind.NATIONAL_BANK),
    ("audit", "Supreme Audit Chamber", Agency.Kind.AUDIT),
]


def demo_document(case, actor, kind, title):
    """A demo document of the case (a one-line PDF standing in for the scan)."""
    return services.evidence_upload(
        case=case, actor=actor, kind=kind, description=title,
        uploaded_file=SimpleUploadedFile(f"{kind.lower()}-{case.case_number}.pdf",
                                         f"%PDF-1.4\n% {title}\n".encode()))


def demo_step_up(user):
    """A demo officer's step-up, with a code their demo device has not used yet (a TOTP code
    is good once; the device accepts the steps just before and after the current one)."""
    for offset in (-1, 0, 1):
        try:
            return step_up(user, demo_code(user.username, step_offset=offset))
        except PermissionRefused:
            TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0,
                                                       throttling_failure_timestamp=None)
    raise CommandError(f"No unused demo code for {user.username} right now: run again.")


class Command(BaseCommand):
    help = "Load demo agencies, users (one per role), a custody wallet and cases. Dev only."

    def add_arguments(self, parser):
        parser.add_argument("--fund-on-devchain", action="store_true",
                            help="Send the approved case's coins to its custody address on "
                                 "the development chain and record the sweep.")

    def handle(self, *args, fund_on_devchain=False, **options):
        if not settings.DEVCHAIN_ALLOWED:
            raise CommandError("Demo data is for development settings only.")
        if User.objects.filter(username="clerk").exists():
            self.stdout.write("Demo data already loaded.")
            self.print_logins()
            return
        sync_role_groups()
        with transaction.atomic():
            agencies = {code: Agency.objects.get_or_create(code=code, defaults={
                "name": name, "kind": kind})[0] for code, name, kind in AGENCIES}
            users = {}
            for username, roles, agency_code, staff in PEOPLE:
                user = User.objects.create_user(
                    username=username, password=DEMO_PASSWORD, is_staff=staff,
                    is_superuser=username == "admin",
                    agency=agencies.get(agency_code) if agency_code else None)
                user.groups.set(Group.objects.filter(name__in=roles))
                users[username] = user
                if needs_second_factor(user):
                    TOTPDevice.objects.create(user=user, name="demo authenticator",
                                              key=demo_key_hex(username), confirmed=True)
        self.make_wallets(agencies, users)
        self.make_cases(users, fund=self.fund if fund_on_devchain else None)
        self.load_custody_demo(users)
        self.print_logins()

    def make_wallets(self, agencies, users):

        for code in ("afm", "police"):
            signers = [f"{code}-{s}" for s in CUSTODY_SIGNERS] if code != "afm" \
                else list(CUSTODY_SIGNERS)
            custody_wallet_register(
                actor=users["admin"], agency=agencies[code], network=settings.BITCOIN_NETWORK,
                label=f"{agencies[code].name} custody (2-of-3, demo keys)", threshold=2,
                keys=[key_expression(s) for s in signers])

    def make_cases(self, users, fund=None):
        clerk, legal = users["clerk"], users["legal"]
        net = settings.BITCOIN_NETWORK

        def new_case(number, owner, sats, description):
            case = services.case_create(actor=clerk, data={
                "case_number": number, "warrant_number": f"W-{number}",
                "warrant_date": dt.date(2026, 2, 1), "seizure_protocol_number": f"SP-{number}",
                "seizure_date": dt.date(2026, 2, 3), "owner_name": owner,
                "owner_identifier": "", "description": description})
            services.asset_add(case=case, actor=clerk, asset="BTC", network=net,
                               declared_amount=sats)
            demo_document(case, clerk, Evidence.Kind.WARRANT, f"Warrant W-{number}")
            return case

        def order_document(case, actor, number):
            return demo_document(case, actor, Evidence.Kind.COURT_ORDER,
                                 f"Court order {number}").sha256

        draft = new_case("AFM-2026-0001", "Demo Suspect A", 25_000_000,
                         "Ledger device seized at a crypto exchange office.")
        submitted = new_case("AFM-2026-0002", "Demo Suspect B", 120_000_000,
                             "Paper wallet found during a search.")
        services.case_submit(case=submitted, actor=clerk)
        review = new_case("AFM-2026-0003", "Demo Company LLP", 7_500_000,
                          "Exchange account frozen and swept.")
        services.case_submit(case=review, actor=clerk)
        services.case_start_review(case=review, actor=legal)
        approved = new_case("AFM-2026-0004", "Demo Suspect C", 50_000_000,
                            "Seed phrase record sealed in the evidence room; coins swept.")
        if fund is not None:
            self.sweep_and_verify(approved.assets.get(), clerk, fund)
        services.case_submit(case=approved, actor=clerk)
        services.case_start_review(case=approved, actor=legal)
        services.case_approve_confiscation(
            case=approved, actor=legal, court="Specialised Inter-District Criminal Court",
            order_number="2-0004/2026", order_date=dt.date(2026, 5, 20),
            document_sha256=order_document(approved, legal, "2-0004/2026"), finality="FINAL",
            step_up=demo_step_up(legal))
        walked = new_case("AFM-2026-0006", "Demo Suspect E", 80_000_000,
                          "Confiscated; scripts/run.sh walks its transfer to the reserve.")
        if fund is not None:
            self.sweep_and_verify(walked.assets.get(), clerk, fund)
        services.case_submit(case=walked, actor=clerk)
        services.case_start_review(case=walked, actor=users["legal2"])
        services.case_approve_confiscation(
            case=walked, actor=users["legal2"], court="Almaty City Court",
            order_number="2-0006/2026", order_date=dt.date(2026, 6, 10),
            document_sha256=order_document(walked, users["legal2"], "2-0006/2026"),
            finality="FINAL", step_up=demo_step_up(users["legal2"]))
        # legal2 decides it: each decision takes a code, and legal's current one stays
        # unused for the person who signs in as legal right after the demo is loaded.
        appeal = new_case("AFM-2026-0005", "Demo Suspect D", 3_000_000, "Under appeal.")
        services.case_submit(case=appeal, actor=clerk)
        services.case_start_review(case=appeal, actor=users["legal2"])
        services.case_approve_confiscation(
            case=appeal, actor=users["legal2"], court="Astana City Court",
            order_number="2-0005/2026", order_date=dt.date(2026, 6, 2),
            document_sha256=order_document(appeal, users["legal2"], "2-0005/2026"),
            finality="UNDER_APPEAL", step_up=demo_step_up(users["legal2"]))
        return {"draft": draft, "submitted": submitted, "review": review, "approved": approved,
                "appeal": appeal}

    @staticmethod
    def sweep_and_verify(asset, clerk, fund):
        """The clerk records the sweep, and the intake watcher checks it now (the block is
        mined): only a verified asset may leave custody for the reserve."""
        services.sweep_record(asset=asset, actor=clerk, txid=fund(asset))
        verification.mark_assets_due(addresses={asset.custody_address})
        verification.verify_asset(asset.pk)
        asset.refresh_from_db()
        if asset.verification_status != VerificationStatus.VERIFIED:
            raise CommandError(f"{asset.case.case_number}: the sweep was not verified on the "
                               f"chain ({asset.verification_status}).")

    def fund(self, asset):
        """Dev chain only: the suspect's coins arrive at the case's custody address, as the
        sweep the clerk then records. Returns the txid."""
        import requests

        url = settings.BITCOIN_RPC_URL

        def rpc(method, *params, wallet=None):
            target = url.rstrip("/") + (f"/wallet/{wallet}" if wallet else "/")
            reply = requests.post(target, json={"version": "1.1", "method": method,
                                                "params": list(params), "id": 1}, timeout=30)
            body = reply.json()
            if body.get("error"):
                raise CommandError(f"devchain {method}: {body['error']}")
            return body["result"]

        try:
            if "demo-funding" not in rpc("listwallets"):
                rpc("createwallet", "demo-funding")
            miner = rpc("getnewaddress", wallet="demo-funding")
            rpc("generatetoaddress", 101, miner)
            txid = rpc("sendtoaddress", asset.custody_address,
                       format_btc(asset.declared_amount), wallet="demo-funding")
            rpc("generatetoaddress", 1, miner)
        except requests.RequestException as exc:
            raise CommandError(f"The development chain is not reachable: {exc}") from None
        self.stdout.write(f"Funded {asset.case.case_number}: {format_btc(asset.declared_amount)}"
                          f" BTC to {asset.custody_address} in {txid}")
        return txid

    def load_custody_demo(self, users):
        """The National Bank's cold reserve: 2-of-3 demo keys, entered by the admin and
        approved by a bank officer; a quorum policy (2 approvals, 3 from 10 BTC); a price."""
        wallet = custody.reserve_wallet_register(
            actor=users["admin"], network=settings.BITCOIN_NETWORK,
            label="NBK cold reserve (2-of-3, demo keys)", threshold=2,
            keys=[key_expression(s) for s in RESERVE_SIGNERS])
        custody.reserve_wallet_approve(wallet=wallet, actor=users["bank3"],
                                       step_up=demo_step_up(users["bank3"]))
        policy = custody.quorum_policy_propose(wallet=wallet, actor=users["bank1"], tiers=[
            {"min_amount_sats": 0, "approvals": 2},
            {"min_amount_sats": 10 * 100_000_000, "approvals": 3}])
        custody.quorum_policy_approve(policy=policy, actor=users["admin"],
                                      step_up=demo_step_up(users["admin"]))
        price = custody.price_record(actor=users["bank2"], kzt_per_unit=52_000_000,
                                     source="demo: NBK reference rate",
                                     observed_at=timezone.now(),
                                     step_up=demo_step_up(users["bank2"]))
        custody.price_approve(price=price, actor=users["admin"],
                              step_up=demo_step_up(users["admin"]))
        self.stdout.write(f"Reserve wallet {wallet.public_id}: {wallet.label}")

    def print_logins(self):
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, roles, agency_code, _ in PEOPLE:
            self.stdout.write(f"  {username:<14} {', '.join(roles):<16} {agency_code or ''}")
        self.stdout.write("Legal officers, bank officers and the admin sign in with a second "
                          "factor; their demo codes: .venv/bin/python -m tools.demo_otp USER "
                          "(--uri for an authenticator app).")
