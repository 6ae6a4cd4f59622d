"""Court-ordered release (issue 11, point 8), over HTTP with the chain replaced by in-memory
UTXOs: the order widens the whitelist only with four eyes and a fresh code; a release to any
other address is refused; the release transfer is custody's own machinery (payload hash,
quorum, step-up, PSBT ceremony); a restitution from a confiscated case closes it; a reorg
undoes the release's books and its disposition. The real chains: test_e2e_release.py."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from embit import ec, script
from embit.networks import NETWORKS

from core.models import AuditEvent
from custody import chainio, services
from custody.models import (
    JournalEntry,
    LedgerAccount,
    ReleaseOrder,
    Transfer,
    TransferInput,
    Valuation,
    ValuationGap,
)
from custody.selectors import balances, ledger_is_balanced
from intake.models import CaseAlert, CaseStatus, Disposition
from tests.support.custody import fake_utxos, make_confiscated_case, sign
from tests.support.second_factor import fresh_step_up, otp

pytestmark = pytest.mark.django_db

ORDER_DOC = hashlib.sha256(b"release order 2-77/2026").hexdigest()


def regtest_address(seed: bytes, network: str = "regtest") -> str:
    key = ec.PrivateKey(hashlib.sha256(seed).digest()).get_public_key()
    return script.p2wpkh(key).address(NETWORKS[network])


OWNER = regtest_address(b"the owner's own wallet")
ELSEWHERE = regtest_address(b"somebody else")


def order_body(case, **extra):
    return {"case": str(case.public_id), "kind": "RETURN_TO_OWNER",
            "court": "Astana City Court", "order_number": "2-77/2026",
            "order_date": "2026-07-01", "document_sha256": ORDER_DOC,
            "beneficiary": "Suspect One (acquitted)", "destination_address": OWNER, **extra}


@pytest.fixture
def rejected(agency, custody_wallet, legal):
    return make_confiscated_case(agency=agency, custody_wallet=custody_wallet, legal=legal,
                                 status=CaseStatus.REJECTED)


@pytest.fixture
def utxos_on_node(monkeypatch, no_chain):
    """The node's custody UTXOs, per case, as the proposal asks for them."""
    given = {}
    monkeypatch.setattr(chainio, "custody_utxos", lambda address: given[address])
    return given


def approved_order(api, case, legal, legal2, **extra):
    order = api(legal).post("/api/v1/release-orders/", order_body(case, **extra), format="json")
    assert order.status_code == 201, order.json()
    reply = api(legal2).post(f"/api/v1/release-orders/{order.json()['id']}/approve/",
                             {"otp": otp(legal2)}, format="json")
    assert reply.status_code == 200, reply.json()
    return reply.json()


def propose_release(api, bank, order, **extra):
    return api(bank).post("/api/v1/transfers/", {"kind": "RELEASE",
                                                 "release_order": order["id"], **extra},
                          format="json")


def test_a_release_order_needs_a_second_legal_officer_with_a_fresh_code(
        api, rejected, clerk, legal, legal2, bank):
    assert api(clerk).post("/api/v1/release-orders/", order_body(rejected),
                           format="json").status_code == 403
    future = api(legal).post("/api/v1/release-orders/",
                             order_body(rejected, order_date="2099-01-01"), format="json")
    assert (future.status_code, future.json()["code"]) == (400, "date_in_future")
    mainnet = api(legal).post("/api/v1/release-orders/", order_body(
        rejected, destination_address=regtest_address(b"owner", "main")),
        format="json")
    assert (mainnet.status_code, mainnet.json()["code"]) == (400, "wrong_network")

    recorded = api(legal).post("/api/v1/release-orders/", order_body(rejected), format="json")
    assert recorded.status_code == 201, recorded.json()
    order = recorded.json()
    assert (order["status"], order["destination_address"]) == ("PENDING", OWNER)
    approve = f"/api/v1/release-orders/{order['id']}/approve/"
    codes = {user: otp(user) for user in (legal, bank)}  # enrolling is audited: before
    events = AuditEvent.objects.count()
    own = api(legal).post(approve, {"otp": codes[legal]}, format="json")
    assert (own.status_code, own.json()["code"]) == (403, "own_entry")
    no_code = api(legal2).post(approve, {}, format="json")
    assert (no_code.status_code, no_code.json()["code"]) == (403, "second_factor_required")
    assert api(bank).post(approve, {"otp": codes[bank]}, format="json").status_code == 403
    assert AuditEvent.objects.count() == events
    assert ReleaseOrder.objects.get().status == "PENDING"

    approved = api(legal2).post(approve, {"otp": otp(legal2)}, format="json")
    assert approved.status_code == 200, approved.json()
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("ACTIVE", "legal2")
    event = AuditEvent.objects.filter(action="release_order.approved").get()
    assert event.after["destination"] == OWNER and event.after["second_factor"]


def test_a_release_goes_only_to_the_address_the_approved_order_names(
        api, rejected, legal, legal2, bank, bank2, bank3, reserve_wallet, utxos_on_node):
    utxos_on_node[rejected.custody_address] = fake_utxos(rejected, 60_000_000, 40_000_000)
    pending = api(legal).post("/api/v1/release-orders/", order_body(rejected),
                              format="json").json()
    early = propose_release(api, bank, pending)
    assert (early.status_code, early.json()["code"]) == (409, "no_release_order")

    order = api(legal2).post(f"/api/v1/release-orders/{pending['id']}/approve/",
                             {"otp": otp(legal2)}, format="json").json()
    elsewhere = propose_release(api, bank, order, destination=ELSEWHERE)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (400,
                                                                 "destination_not_in_order")
    assert not Transfer.objects.exists() and not TransferInput.objects.exists()
    # The reserve way is closed to a rejected case.
    to_reserve = api(bank).post("/api/v1/transfers/", {
        "case": str(rejected.public_id), "reserve_wallet": str(reserve_wallet.public_id)},
        format="json")
    assert to_reserve.status_code in (404, 409)
    assert not Transfer.objects.exists()

    reply = propose_release(api, bank, order, destination=OWNER)
    assert reply.status_code == 201, reply.json()
    transfer = reply.json()
    assert (transfer["kind"], transfer["destination"], transfer["release_order"]) == (
        "RELEASE", OWNER, order["id"])
    assert transfer["reserve_wallet"] is None
    assert transfer["approvals_required"] == 2  # the reserve's own quorum
    assert [o["address"] for o in transfer["payload"]["outputs"]] == [OWNER]
    assert transfer["amount_sats"] + transfer["fee_sats"] == 100_000_000
    rejected.refresh_from_db()
    assert rejected.status == CaseStatus.REJECTED  # a rejected case is not moved by it

    approve = f"/api/v1/transfers/{transfer['id']}/approve/"
    own = api(bank).post(approve, {"payload_hash": transfer["payload_hash"],
                                   "otp": otp(bank)}, format="json")
    assert (own.status_code, own.json()["code"]) == (403, "own_transfer")
    no_code = api(bank2).post(approve, {"payload_hash": transfer["payload_hash"]},
                              format="json")
    assert (no_code.status_code, no_code.json()["code"]) == (403, "second_factor_required")
    stale = api(bank2).post(approve, {"payload_hash": "0" * 64, "otp": otp(bank2)},
                            format="json")
    assert (stale.status_code, stale.json()["code"]) == (409, "payload_changed")
    for officer in (bank2, bank3):
        ok = api(officer).post(approve, {"payload_hash": transfer["payload_hash"],
                                         "otp": otp(officer)}, format="json")
        assert ok.status_code == 200, ok.json()
    assert ok.json()["status"] == "APPROVED"
    psbt = api(bank).get(f"/api/v1/transfers/{transfer['id']}/psbt/").json()
    assert psbt["payload_hash"] == transfer["payload_hash"]


def test_a_restitution_from_a_confiscated_case_settles_closes_and_is_undone_by_a_reorg(
        api, case, legal, legal2, bank, bank2, bank3, reserve_wallet, utxos_on_node):
    utxos_on_node[case.custody_address] = fake_utxos(case, 90_000_000)
    order = approved_order(api, case, legal, legal2, kind="RESTITUTION",
                           beneficiary="Victim LLP")
    transfer = propose_release(api, bank, order).json()
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_TRANSFER
    # Cancelled, the case goes back; proposed again, it moves again.
    api(bank).post(f"/api/v1/transfers/{transfer['id']}/cancel/", {"reason": "fee"},
                   format="json")
    case.refresh_from_db()
    assert case.status == CaseStatus.CONFISCATION_APPROVED
    transfer = Transfer.objects.get(public_id=propose_release(api, bank, order).json()["id"])
    for officer in (bank2, bank3):
        services.transfer_approve(transfer=transfer, actor=officer,
                                  payload_hash=transfer.payload_hash,
                                  step_up=fresh_step_up(officer))
    transfer.refresh_from_db()
    for signer in ("c1", "c3"):
        services.transfer_upload_signed(transfer=transfer, actor=bank,
                                        psbt=sign(transfer.unsigned_psbt, signer),
                                        step_up=fresh_step_up(bank))
    services.transfer_broadcast(transfer_id=transfer.pk)
    services.transfer_apply_chain_state(transfer_id=transfer.pk, state="CONFIRMED",
                                        confirmations=6, block_hash="aa" * 32, block_height=495)
    transfer.refresh_from_db()
    case.refresh_from_db()
    assert transfer.status == "SETTLED"
    assert case.status == CaseStatus.CLOSED  # everything went to the victim
    asset = case.assets.get()
    assert (asset.disposition, asset.disposition_ref) == (Disposition.RELEASED,
                                                          str(transfer.public_id))
    entry = JournalEntry.objects.get(transfer=transfer)
    assert entry.kind == JournalEntry.Kind.RELEASE_SETTLED
    assert sorted((ln.account, ln.amount_sats) for ln in entry.lines.all()) == sorted([
        (LedgerAccount.RELEASED, transfer.amount_sats),
        (LedgerAccount.CUSTODY, -transfer.input_total_sats),
        (LedgerAccount.NETWORK_FEES, transfer.fee_sats)])
    assert balances()["total_sats"] == 0 and ledger_is_balanced()
    # The release is a milestone valued when it happens: with no price in force, an open
    # item asks for one; once a price of that moment is recorded and approved, it is valued.
    gap = ValuationGap.objects.get(transfer=transfer, point=Valuation.Point.RELEASE)
    assert (gap.status, gap.amount_sats) == (ValuationGap.Status.OPEN, transfer.amount_sats)
    price = services.price_record(actor=bank, kzt_per_unit=40_000_000, source="NBK fixing",
                                  observed_at=transfer.settled_at - dt.timedelta(minutes=1),
                                  step_up=fresh_step_up(bank))
    services.price_approve(price=price, actor=bank2, step_up=fresh_step_up(bank2))
    valued = Valuation.objects.get(transfer=transfer, point=Valuation.Point.RELEASE)
    assert valued.value_kzt == Decimal(transfer.amount_sats) * 40_000_000 / 100_000_000
    gap.refresh_from_db()
    assert gap.status != ValuationGap.Status.OPEN

    # A reorg deeper than settlement removes it: compensating entry, the asset held again,
    # an alert (the closed case stays closed: a person must look).
    services.transfer_apply_chain_state(transfer_id=transfer.pk, state="MEMPOOL")
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.RELEASE_REVERSED,
                                       reverses=entry).exists()
    asset.refresh_from_db()
    assert asset.disposition == Disposition.HELD
    assert ledger_is_balanced()
    assert CaseAlert.objects.filter(case=case, kind=CaseAlert.Kind.REORG).exists()


def test_release_orders_are_seen_by_legal_and_the_reserve_not_by_clerks(
        api, rejected, clerk, legal, legal2, bank, auditor):
    approved_order(api, rejected, legal, legal2)
    for user, count in ((legal, 1), (bank, 1), (auditor, 1), (clerk, 0)):
        reply = api(user).get("/api/v1/release-orders/", {"case": str(rejected.public_id)})
        assert reply.status_code == 200
        assert reply.json()["count"] == count, user
    bad = api(legal).get("/api/v1/release-orders/", {"case": "nope"})
    assert bad.status_code == 400
    assert dt.date.fromisoformat(
        api(bank).get("/api/v1/release-orders/").json()["results"][0]["order_date"]) \
        == dt.date(2026, 7, 1)


def test_a_rebuilt_release_keeps_the_orders_address_and_needs_approving_again(
        api, rejected, legal, legal2, bank, bank2, reserve_wallet, utxos_on_node):
    utxos_on_node[rejected.custody_address] = fake_utxos(rejected, 50_000_000)
    order = approved_order(api, rejected, legal, legal2)
    transfer = propose_release(api, bank, order, fee_rate_sat_vb=5).json()
    link = f"/api/v1/transfers/{transfer['id']}/"
    api(bank2).post(link + "approve/", {"payload_hash": transfer["payload_hash"],
                                        "otp": otp(bank2)}, format="json")
    rebuilt = api(bank).post(link + "rebuild/", {"reason": "fees rose",
                                                 "fee_rate_sat_vb": 25}, format="json")
    assert rebuilt.status_code == 200, rebuilt.json()
    body = rebuilt.json()
    assert body["payload_hash"] != transfer["payload_hash"]
    assert (body["status"], body["destination"], body["kind"]) == ("PROPOSED", OWNER, "RELEASE")
    assert [o["address"] for o in body["payload"]["outputs"]] == [OWNER]
    assert body["approvals"] == [] and body["approvals_required"] == 2
    assert body["fee_sats"] > transfer["fee_sats"]


def test_a_release_needs_the_strictest_active_reserve_quorum_and_says_which(
        api, rejected, legal, legal2, bank, admin_user, bank3, reserve_wallet, utxos_on_node):
    """The release rule (README): a release spends custody coins, which have no quorum
    policy of their own; it needs no fewer approvals than moving them into any active
    reserve wallet of the network would, and its proposal names the policy that decided."""
    from tests.support.custody import make_reserve_wallet

    strict = make_reserve_wallet(admin=admin_user, approver=bank3, signers=("s1", "s2", "s3"),
                                 tiers=[{"min_amount_sats": 0, "approvals": 2},
                                        {"min_amount_sats": 90_000_000, "approvals": 3}])
    retired = make_reserve_wallet(admin=admin_user, approver=bank3,
                                  signers=("t1", "t2", "t3"),
                                  tiers=[{"min_amount_sats": 0, "approvals": 5}])
    services.reserve_wallet_retire(wallet=retired, actor=admin_user, reason="decommissioned")
    utxos_on_node[rejected.custody_address] = fake_utxos(rejected, 60_000_000, 40_000_000)
    order = approved_order(api, rejected, legal, legal2)
    reply = propose_release(api, bank, order)
    assert reply.status_code == 201, reply.json()
    # 2 at the plain reserve, 3 at the strict one for this amount, the retired one not asked
    assert reply.json()["approvals_required"] == 3
    event = AuditEvent.objects.filter(action="transfer.proposed",
                                      object_id=reply.json()["id"]).get()
    policy = strict.policies.get(status="ACTIVE")
    assert (event.after["quorum_policy"], event.after["quorum_wallet"]) == (
        str(policy.public_id), str(strict.public_id))
    assert event.after["quorum_rule"] == "strictest active reserve-wallet policy of the network"
