"""The intake side of an end-to-end scenario, through intake's own services: a clerk files a
case, its custody address is funded on the development chain, legal confiscates it."""

import datetime as dt
import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile

from chain.adapter import get_adapter
from intake import services as intake
from intake.models import ConfiscationOrder, Evidence, VerificationStatus
from intake.verification import mark_assets_due, verify_asset
from tests.support.second_factor import fresh_step_up

ORDER_DOCUMENT = b"%PDF-1.4 order 2-100/2026"


def confiscated_case_on_chain(*, devchain, clerk, legal, sats=150_000_000):
    case = intake.case_create(actor=clerk, data={
        "case_number": "KZ-E2E-1", "warrant_number": "W-1", "warrant_date": dt.date(2026, 1, 5),
        "owner_name": "Suspect", "seizure_date": dt.date(2026, 1, 6)})
    asset = intake.asset_add(case=case, actor=clerk, asset="BTC", network="regtest",
                             declared_amount=sats)
    txid = devchain.fund(asset.custody_address, sats)
    intake.sweep_record(asset=asset, actor=clerk, txid=txid)
    devchain.mine(1)
    intake.evidence_upload(case=case, actor=clerk, kind=Evidence.Kind.WARRANT,
                           uploaded_file=SimpleUploadedFile("w.pdf", b"%PDF-1.4 warrant W-1"))
    # What the intake watcher does after a block: only a verified asset may leave custody.
    mark_assets_due(addresses={asset.custody_address})
    verify_asset(asset.pk, get_adapter())
    asset.refresh_from_db()
    assert asset.verification_status == VerificationStatus.VERIFIED
    intake.case_submit(case=case, actor=clerk)
    intake.case_start_review(case=case, actor=legal)
    intake.evidence_upload(case=case, actor=legal, kind=Evidence.Kind.COURT_ORDER,
                           uploaded_file=SimpleUploadedFile("order.pdf", ORDER_DOCUMENT))
    intake.case_approve_confiscation(
        case=case, actor=legal, court="Astana City Court", order_number="2-100/2026",
        order_date=dt.date(2026, 3, 1),
        document_sha256=hashlib.sha256(ORDER_DOCUMENT).hexdigest(),
        finality=ConfiscationOrder.Finality.FINAL, step_up=fresh_step_up(legal))
    case.refresh_from_db()
    return case


def rejected_case_on_chain(*, devchain, clerk, legal, sats=120_000_000):
    """Filed, its custody address funded and swept, then rejected by legal review: the
    coins must go back to their owner by court order."""
    case = intake.case_create(actor=clerk, data={
        "case_number": "KZ-E2E-REJ", "warrant_number": "W-2",
        "warrant_date": dt.date(2026, 1, 5), "owner_name": "Acquitted Owner",
        "seizure_date": dt.date(2026, 1, 6)})
    asset = intake.asset_add(case=case, actor=clerk, asset="BTC", network="regtest",
                             declared_amount=sats)
    txid = devchain.fund(asset.custody_address, sats)
    intake.sweep_record(asset=asset, actor=clerk, txid=txid)
    devchain.mine(1)
    intake.evidence_upload(case=case, actor=clerk, kind=Evidence.Kind.WARRANT,
                           uploaded_file=SimpleUploadedFile("w.pdf", b"%PDF-1.4 warrant W-2"))
    intake.case_submit(case=case, actor=clerk)
    intake.case_start_review(case=case, actor=legal)
    intake.case_reject(case=case, actor=legal, reason="No legal basis for confiscation",
                       step_up=fresh_step_up(legal))
    case.refresh_from_db()
    return case
