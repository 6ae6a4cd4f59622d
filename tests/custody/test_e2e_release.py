"""A court-ordered release settled on the development chain and on a real Bitcoin Core
(chain_node: once per backend), driven over the API the way people would: the rejected
case's release order recorded and approved by two legal officers, the release transfer
proposed (an address outside the order refused), approved by the quorum, signed offline,
broadcast, six blocks, settled by the watchers; the ledger records the release, the asset is
released, the owner's address holds the coins on the node, and the case can be closed."""

import pytest

from chain import watcher
from chain.adapter import get_adapter
from custody.models import JournalEntry, LedgerAccount, Transfer, TransferStatus
from custody.selectors import balances, ledger_is_balanced
from intake.models import CaseAlert, CaseStatus, Disposition
from tests.support.api import DOC_SHA, url
from tests.support.flow import rejected_case_on_chain
from tests.support.second_factor import otp
from tools.demo_signer import sign_psbt

SATS = 120_000_000


@pytest.mark.django_db(transaction=True)
def test_release_by_court_order_settles_on_the_node(
        api, chain_node, custody_wallet, clerk, legal, legal2, bank, bank2, bank3,
        reserve_wallet, run_tasks_in_process):
    adapter = get_adapter()
    case = rejected_case_on_chain(devchain=chain_node, clerk=clerk, legal=legal)
    watcher.poll(adapter)
    owner, stranger = chain_node.new_address(), chain_node.new_address()

    order = api(legal).post("/api/v1/release-orders/", {
        "case": str(case.public_id), "kind": "RETURN_TO_OWNER", "court": "Astana City Court",
        "order_number": "2-88/2026", "order_date": "2026-07-01", "document_sha256": DOC_SHA,
        "beneficiary": case.owner_name, "destination_address": owner}, format="json")
    assert order.status_code == 201, order.json()
    order_id = order.json()["id"]
    approved = api(legal2).post(f"/api/v1/release-orders/{order_id}/approve/",
                                {"otp": otp(legal2)}, format="json")
    assert approved.json()["status"] == "ACTIVE", approved.json()

    body = {"kind": "RELEASE", "release_order": order_id}
    refused = api(bank).post("/api/v1/transfers/", {**body, "destination": stranger},
                             format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "destination_not_in_order")
    proposed = api(bank).post("/api/v1/transfers/", body, format="json")
    assert proposed.status_code == 201, proposed.json()
    transfer = proposed.json()
    assert transfer["destination"] == owner
    link = f"/api/v1/transfers/{transfer['id']}/"
    for officer in (bank2, bank3):
        reply = api(officer).post(link + "approve/", {"payload_hash": transfer["payload_hash"],
                                                      "otp": otp(officer)}, format="json")
        assert reply.status_code == 200, reply.json()
    unsigned = api(bank).get(link + "psbt/").json()["psbt"]
    for signer in ("c1", "c2"):
        signed, added = sign_psbt(unsigned, signer)
        assert added == 1
        reply = api(bank).post(link + "signatures/", {"psbt": signed, "otp": otp(bank)},
                               format="json")
        assert reply.status_code == 200, reply.json()

    released = Transfer.objects.get(public_id=transfer["id"])
    assert released.status == TransferStatus.BROADCAST, released.failure_reason
    assert released.txid in chain_node.rpc("getrawmempool")
    watcher.poll(adapter)
    chain_node.mine(6)
    watcher.poll(adapter)
    released.refresh_from_db()
    case.refresh_from_db()
    assert released.status == TransferStatus.SETTLED
    assert case.status == CaseStatus.REJECTED  # a legal officer closes it

    found = chain_node.rpc("scantxoutset", "start", [f"addr({owner})"])
    assert round(found["total_amount"] * 100_000_000) == released.amount_sats
    assert released.amount_sats + released.fee_sats == SATS
    entry = JournalEntry.objects.get(transfer=released)
    assert entry.kind == JournalEntry.Kind.RELEASE_SETTLED and entry.txid == released.txid
    assert sorted((ln.account, ln.amount_sats) for ln in entry.lines.all()) == sorted([
        (LedgerAccount.RELEASED, released.amount_sats), (LedgerAccount.CUSTODY, -SATS),
        (LedgerAccount.NETWORK_FEES, released.fee_sats)])
    assert ledger_is_balanced() and balances()["total_sats"] == 0
    asset = case.assets.get()
    assert asset.disposition == Disposition.RELEASED
    # The custody coins left by an approved, signed transfer: no alarm.
    assert not CaseAlert.objects.filter(case=case,
                                        kind=CaseAlert.Kind.UNAPPROVED_SPEND).exists()
    closed = api(legal).post(url(case.public_id, "close"),
                             {"reason": "Returned to the owner", "otp": otp(legal)},
                             format="json")
    assert closed.status_code == 200 and closed.json()["status"] == CaseStatus.CLOSED
