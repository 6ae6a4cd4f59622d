"""The custody API: routes, visibility, error codes, idempotency; the chain replaced."""

import pytest
from embit.psbt import PSBT

from custody import chainio
from custody.models import ReserveWallet, Transfer, TransferStatus
from tests.support.custody import fake_utxos, sign
from tests.support.keys import private_extended
from tools.demo_signer import key_expression

pytestmark = pytest.mark.django_db

WIF = "cVt4o7BGAig1UXywgGSmARhxMdzP5qvQsxKkSsc1XEkw3tDTQFpy"


@pytest.fixture
def chain_utxos(case, monkeypatch, no_chain):
    utxos = fake_utxos(case, 120_000_000)
    monkeypatch.setattr(chainio, "custody_utxos", lambda address: utxos)
    return utxos


def propose(api, user, case, wallet, key=None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api(user).post("/api/v1/transfers/", {"case": str(case.public_id),
                                                 "reserve_wallet": str(wallet.public_id),
                                                 **extra}, format="json", **headers)


def test_the_ceremony_over_the_api(api, bank, bank2, bank3, case, reserve_wallet,
                                   chain_utxos, monkeypatch):
    from custody import tasks
    from custody.services import transfer_broadcast

    monkeypatch.setattr(tasks.broadcast_transfer_task, "delay",
                        lambda pk: transfer_broadcast(transfer_id=pk))
    reply = propose(api, bank, case, reserve_wallet, key="p-1")
    assert reply.status_code == 201, reply.json()
    body = reply.json()
    assert body["status"] == "PROPOSED" and body["approvals_required"] == 2
    again = propose(api, bank, case, reserve_wallet, key="p-1")
    assert again.json()["id"] == body["id"] and Transfer.objects.count() == 1
    url = f"/api/v1/transfers/{body['id']}/"
    assert api(bank).get(url + "psbt/").status_code == 409  # not approved yet
    for officer in (bank2, bank3):
        reply = api(officer).post(url + "approve/", {"payload_hash": body["payload_hash"]},
                                  format="json")
        assert reply.status_code == 200, reply.json()
    assert reply.json()["status"] == "APPROVED"
    unsigned = api(bank).get(url + "psbt/").json()["psbt"]
    download = api(bank).get(url + "psbt/?download=1")
    assert download["Content-Disposition"].endswith('.psbt"')
    reply = api(bank).post(url + "signatures/", {"psbt": sign(unsigned, "c2")}, format="json")
    assert reply.status_code == 200 and reply.json()["status"] == "SIGNING"
    from django.core.files.uploadedfile import SimpleUploadedFile

    raw = PSBT.from_string(sign(unsigned, "c3")).serialize()
    with pytest.MonkeyPatch.context():
        reply = api(bank).post(url + "signatures/", {
            "file": SimpleUploadedFile("signed.psbt", raw)}, format="multipart")
    assert reply.status_code == 200, reply.json()
    transfer = Transfer.objects.get()
    assert transfer.final_tx_hex
    assert reply.json()["signatures_per_input"] == [2]


def test_refusals_over_the_api_have_codes(api, bank, bank2, case, reserve_wallet,
                                          chain_utxos):
    body = propose(api, bank, case, reserve_wallet).json()
    url = f"/api/v1/transfers/{body['id']}/approve/"
    own = api(bank).post(url, {"payload_hash": body["payload_hash"]}, format="json")
    assert (own.status_code, own.json()["code"]) == (403, "own_transfer")
    assert api(bank2).post(url, {"payload_hash": body["payload_hash"]},
                           format="json").status_code == 200
    twice = api(bank2).post(url, {"payload_hash": body["payload_hash"]}, format="json")
    assert (twice.status_code, twice.json()["code"]) == (409, "already_approved")
    second = propose(api, bank, case, reserve_wallet)
    assert (second.status_code, second.json()["code"]) == (409, "case_not_transferable")


def test_a_destination_outside_the_reserve_wallet_is_a_400(api, bank, case, reserve_wallet,
                                                           chain_utxos):
    reply = propose(api, bank, case, reserve_wallet, destination=case.custody_address)
    assert (reply.status_code, reply.json()["code"]) == (400, "destination_not_reserve")
    assert not Transfer.objects.exists()


@pytest.mark.parametrize("secret", [WIF, private_extended("r1"),
                                    "abandon " * 11 + "about"])
def test_a_private_key_pasted_anywhere_is_refused(api, admin_user, bank, case, reserve_wallet,
                                                  chain_utxos, secret):
    reply = propose(api, bank, case, reserve_wallet, destination=secret)
    assert (reply.status_code, reply.json()["code"]) == (400, "private_key_refused")
    assert secret not in reply.content.decode()
    reply = api(admin_user).post("/api/v1/reserve-wallets/", {
        "network": "regtest", "label": "x", "threshold": 1, "keys": [secret]}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (400, "private_key_refused")
    reply = api(bank).post("/api/v1/prices/", {
        "kzt_per_unit": "1", "source": secret, "observed_at": "2026-01-01T00:00:00Z"},
        format="json")
    assert reply.json()["code"] == "private_key_refused"
    assert not Transfer.objects.exists()
    assert ReserveWallet.objects.count() == 1


def test_transfers_are_invisible_to_clerks_and_legal(api, bank, clerk, legal, auditor, case,
                                                     reserve_wallet, chain_utxos):
    body = propose(api, bank, case, reserve_wallet).json()
    for user in (clerk, legal):
        assert api(user).get(f"/api/v1/transfers/{body['id']}/").status_code == 404
        assert api(user).get("/api/v1/transfers/").json()["count"] == 0
        assert api(user).get("/api/v1/ledger/balances/").status_code == 404
    assert api(auditor).get(f"/api/v1/transfers/{body['id']}/").status_code == 200
    reply = api(auditor).post(f"/api/v1/transfers/{body['id']}/approve/",
                              {"payload_hash": body["payload_hash"]}, format="json")
    assert reply.status_code == 403


def test_reserve_wallet_and_policy_need_four_eyes(api, admin_user, bank):
    reply = api(admin_user).post("/api/v1/reserve-wallets/", {
        "network": "regtest", "label": "NBK 2", "threshold": 2,
        "keys": [key_expression(s) for s in ("w1", "w2", "w3")]}, format="json")
    assert reply.status_code == 201, reply.json()
    wallet = reply.json()
    assert wallet["status"] == "PENDING"
    own = api(admin_user).post(f"/api/v1/reserve-wallets/{wallet['id']}/approve/")
    assert (own.status_code, own.json()["code"]) == (403, "own_entry")
    assert api(bank).post(f"/api/v1/reserve-wallets/{wallet['id']}/approve/").json()[
        "status"] == "ACTIVE"
    policy = api(bank).post(f"/api/v1/reserve-wallets/{wallet['id']}/policies/", {
        "tiers": [{"min_amount_sats": 0, "approvals": 2},
                  {"min_amount_sats": 10**9, "approvals": 3}]}, format="json").json()
    own = api(bank).post(f"/api/v1/quorum-policies/{policy['id']}/approve/")
    assert own.json()["code"] == "own_entry"
    assert api(admin_user).post(f"/api/v1/quorum-policies/{policy['id']}/approve/").json()[
        "status"] == "ACTIVE"
    bad = api(bank).post(f"/api/v1/reserve-wallets/{wallet['id']}/policies/", {
        "tiers": [{"min_amount_sats": 0, "approvals": 3},
                  {"min_amount_sats": 10**9, "approvals": 2}]}, format="json")
    assert bad.status_code == 400


def test_a_wallet_that_is_not_approved_takes_no_transfers(api, admin_user, bank, case,
                                                          chain_utxos):
    from custody.services import reserve_wallet_register

    wallet = reserve_wallet_register(actor=admin_user, network="regtest", label="pending",
                                     threshold=2,
                                     keys=[key_expression(s) for s in ("v1", "v2", "v3")])
    reply = propose(api, bank, case, wallet)
    assert (reply.status_code, reply.json()["code"]) == (409, "wallet_not_active")


def test_exports(api, auditor, bank, clerk):
    accounting = api(auditor).get("/api/v1/reports/accounting.csv")
    assert b"".join(accounting.streaming_content).startswith(b"section,")
    assert api(auditor).get("/api/v1/reports/proof-of-reserves/").json() == {"wallets": []}
    assert api(clerk).get("/api/v1/reports/accounting.csv").status_code == 404


def test_transfer_statuses_are_listed(api, bank):
    assert set(TransferStatus.values) >= {"PROPOSED", "SETTLED", "CONFLICTED"}
