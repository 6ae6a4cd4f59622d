"""Bad input: a clear 400 with a stable code, and nothing written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import AuditEvent
from intake.models import Evidence, SeizedAsset, SeizureCase, SweepTransaction
from tests.support.api import (
    CASE_PAYLOAD,
    DOC_SHA,
    ORDER_DOCUMENT,
    ORDER_PAYLOAD,
    upload_document,
    url,
)
from tests.support.factories import CaseFactory, EvidenceFactory
from tests.support.keys import key_expression, private_extended

pytestmark = pytest.mark.django_db

WIF_TESTNET = "cVt4o7BGAig1UXywgGSmARhxMdzP5qvQsxKkSsc1XEkw3tDTQFpy"
MNEMONIC = "abandon " * 11 + "about"


@pytest.fixture
def draft(clerk, custody_wallet):
    return CaseFactory(agency=clerk.agency, filed_by=clerk, case_number="EXISTING")


def assert_refused(response, code, *, status=400):
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code, response.json()
    assert response.json()["detail"]


CASE_FIELD_CASES = [
    ({"case_number": ""}, "blank"),
    ({"case_number": "x" * 65}, "max_length"),
    ({"case_number": "bad number!"}, "invalid"),
    ({"case_number": "EXISTING"}, "duplicate"),
    ({"warrant_number": ""}, "blank"),
    ({"warrant_date": "2026-13-01"}, "invalid"),
    ({"warrant_date": "yesterday"}, "invalid"),
    ({"seizure_date": "2026-02-01"}, "invalid_date"),  # before the warrant
    ({"owner_name": ""}, "blank"),
    ({"owner_details": f"notes {private_extended('x')}"}, "private_key_refused"),
    ({"description": f"key {WIF_TESTNET}"}, "private_key_refused"),
    ({"description": MNEMONIC}, "private_key_refused"),
]


@pytest.mark.parametrize(("change", "code"), CASE_FIELD_CASES,
                         ids=[f"{next(iter(c))}-{code}" for c, code in CASE_FIELD_CASES])
def test_case_fields(api, clerk, draft, change, code):
    before = (SeizureCase.objects.count(), AuditEvent.objects.count())
    assert_refused(api(clerk).post(url(), {**CASE_PAYLOAD, **change}, format="json"), code)
    assert (SeizureCase.objects.count(), AuditEvent.objects.count()) == before


ASSET_CASES = [
    ({"declared_amount": 0}, "invalid_amount"),
    ({"declared_amount": -5}, "invalid_amount"),
    ({"declared_amount": 21_000_000 * 100_000_000 + 1}, "invalid_amount"),
    ({"declared_amount": 1.5}, "invalid_amount"),
    ({"declared_amount": "12.5"}, "invalid_amount"),
    ({"declared_amount_btc": "0.123456789"}, "invalid_amount"),
    ({"declared_amount_btc": "-1"}, "invalid_amount"),
    ({"declared_amount_btc": "abc"}, "invalid_amount"),
    ({"declared_amount_btc": "21000000.00000001"}, "invalid_amount"),
    ({"network": "bitcoin-cash"}, "wrong_network"),
    ({"asset": "DOGE"}, "invalid_choice"),
    ({"source_address": "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"}, "wrong_network"),
    ({"source_address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080x"}, "invalid_address"),
    ({"source_address": "not-an-address"}, "invalid_address"),
    ({"source_address": "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfm"}, "invalid_address"),
    ({"asset_label": private_extended("y")}, "private_key_refused"),
]


@pytest.mark.parametrize(("change", "code"), ASSET_CASES,
                         ids=[f"{next(iter(c))}-{code}-{i}" for i, (c, code)
                              in enumerate(ASSET_CASES)])
def test_asset_fields(api, clerk, draft, change, code):
    body = {"asset": "BTC", "network": "regtest", "declared_amount": 1000, **change}
    if "declared_amount_btc" in change:
        body.pop("declared_amount")
    before = (SeizedAsset.objects.count(), AuditEvent.objects.count())
    assert_refused(api(clerk).post(url(draft.public_id, sub="assets"), body, format="json"), code)
    assert (SeizedAsset.objects.count(), AuditEvent.objects.count()) == before
    draft.refresh_from_db()
    assert draft.custody_address == ""  # no index was burnt on a refused request


def test_valid_source_address_is_accepted(api, clerk, draft):
    body = {"asset": "BTC", "network": "regtest", "declared_amount": 1000,
            "source_address": "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"}
    response = api(clerk).post(url(draft.public_id, sub="assets"), body, format="json")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(("txid", "code"), [
    ("ab" * 31, "invalid_txid"), ("zz" * 32, "invalid_txid"), ("AB" * 32, "invalid_txid"),
    ("0" * 64, "invalid_txid"), ("", "blank"), (WIF_TESTNET, "private_key_refused"),
])
def test_sweep_txids(api, clerk, draft, txid, code):
    asset = api(clerk).post(url(draft.public_id, sub="assets"),
                            {"asset": "BTC", "network": "regtest", "declared_amount": 1000},
                            format="json").json()
    before = (SweepTransaction.objects.count(), AuditEvent.objects.count())
    response = api(clerk).post(url(draft.public_id, sub=f"assets/{asset['id']}/sweeps"),
                               {"txid": txid}, format="json")
    assert_refused(response, code)
    assert (SweepTransaction.objects.count(), AuditEvent.objects.count()) == before


def test_the_same_sweep_twice_is_a_duplicate(api, clerk, draft):
    asset = api(clerk).post(url(draft.public_id, sub="assets"),
                            {"asset": "BTC", "network": "regtest", "declared_amount": 1000},
                            format="json").json()
    path = url(draft.public_id, sub=f"assets/{asset['id']}/sweeps")
    assert api(clerk).post(path, {"txid": "cd" * 32}, format="json").status_code == 201
    assert_refused(api(clerk).post(path, {"txid": "cd" * 32}, format="json"), "duplicate")
    assert SweepTransaction.objects.count() == 1


@pytest.mark.parametrize(("change", "code"), [
    ({"document_sha256": "abc"}, "invalid"),
    ({"document_sha256": "g" * 64}, "invalid"),
    ({"finality": "MAYBE"}, "invalid_choice"),
    ({"order_date": "soon"}, "invalid"),
    ({"court": ""}, "blank"),
    ({"court": f"court {WIF_TESTNET}"}, "private_key_refused"),
])
def test_order_fields(api, legal, agency, change, code):
    case = CaseFactory(agency=agency, status="UNDER_REVIEW")
    before = AuditEvent.objects.count()
    assert_refused(api(legal).post(url(case.public_id, "approve"), {**ORDER_PAYLOAD, **change},
                                   format="json"), code)
    case.refresh_from_db()
    assert case.status == "UNDER_REVIEW"
    assert AuditEvent.objects.count() == before


def test_reasons_are_required(api, legal, agency):
    case = CaseFactory(agency=agency, status="UNDER_REVIEW")
    assert_refused(api(legal).post(url(case.public_id, "reject"), {}, format="json"),
                   "required")
    assert_refused(api(legal).post(url(case.public_id, "reject"), {"reason": "  "},
                                   format="json"), "blank")
    case.refresh_from_db()
    assert case.status == "UNDER_REVIEW"


def test_status_cannot_be_patched(api, clerk, draft):
    assert_refused(api(clerk).patch(url(draft.public_id), {"status": "CONFISCATION_APPROVED"},
                                    format="json"), "invalid")
    draft.refresh_from_db()
    assert draft.status == "DRAFT"


def test_unknown_and_malformed_ids(api, clerk):
    assert api(clerk).get("/api/v1/cases/00000000-0000-0000-0000-000000000000/"
                          ).json()["code"] == "not_found"
    assert api(clerk).get("/api/v1/cases/123/").status_code == 404


def test_custody_entry_period_must_go_forward(api, clerk, draft):
    body = {"item_kind": "DEVICE", "item_description": "Trezor", "holder": "Officer A",
            "held_from": "2026-03-02T10:00:00Z", "held_until": "2026-03-01T10:00:00Z"}
    assert_refused(api(clerk).post(url(draft.public_id, sub="custody-entries"), body,
                                   format="json"), "invalid")
    assert draft.handovers.count() == 0


class TestEvidence:
    def upload(self, api, user, case, content, name="scan.pdf"):
        return api(user).post(url(case.public_id, sub="evidence"),
                              {"file": SimpleUploadedFile(name, content),
                               "description": "Seizure protocol scan"}, format="multipart")

    def test_upload_records_hash_size_and_detected_type(self, api, clerk, draft, settings,
                                                        tmp_path):
        settings.MEDIA_ROOT = tmp_path
        content = b"%PDF-1.7\n" + b"x" * 1000
        response = self.upload(api, clerk, draft, content)
        assert response.status_code == 201, response.json()
        body = response.json()
        import hashlib

        assert body["sha256"] == hashlib.sha256(content).hexdigest()
        assert body["size"] == len(content)
        assert body["content_type"] == "application/pdf"
        evidence = Evidence.objects.get()
        with evidence.file.open("rb") as stored:
            assert stored.read() == content
        assert AuditEvent.objects.filter(action="evidence.uploaded").count() == 1

    def test_refusals(self, api, clerk, draft, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        settings.EVIDENCE_MAX_BYTES = 2000
        assert_refused(self.upload(api, clerk, draft, b"%PDF-" + b"x" * 3000),
                       "file_too_large")
        assert_refused(self.upload(api, clerk, draft, b"MZ\x90\x00\x03 exe", "a.pdf"),
                       "file_type_not_allowed")
        assert_refused(self.upload(api, clerk, draft, b""), "invalid")
        assert_refused(self.upload(api, clerk, draft, f"seed: {MNEMONIC}".encode(), MNEMONIC),
                       "private_key_refused")
        assert self.upload(api, clerk, draft, b"%PDF-1 ok").status_code == 201
        assert_refused(self.upload(api, clerk, draft, b"%PDF-1 ok", "again.pdf"), "duplicate")
        assert Evidence.objects.count() == 1
        stored = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert len(stored) == 1  # refused uploads leave no file behind

    @pytest.mark.parametrize(("name", "content"), [
        ("keys.txt", f"exported from the suspect's laptop\n{WIF_TESTNET}\n".encode()),
        ("wallet.json", b'{"label": "cold", "xprv": "' + private_extended("x").encode()
         + b'"}'),
        ("notes.txt", ("padding line\n" * 5000 + f"seed: {MNEMONIC}\n").encode()),
    ])
    def test_private_keys_inside_text_files_are_refused(self, api, clerk, draft, settings,
                                                        tmp_path, name, content):
        settings.MEDIA_ROOT = tmp_path
        assert_refused(self.upload(api, clerk, draft, content, name), "private_key_refused")
        assert Evidence.objects.count() == 0
        assert not [p for p in tmp_path.rglob("*") if p.is_file()]

    def test_a_text_file_without_keys_is_accepted(self, api, clerk, draft, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        content = "Протокол изъятия: 2 устройства, опечатаны.\n".encode() * 100
        response = self.upload(api, clerk, draft, content, "protocol.txt")
        assert response.status_code == 201, response.json()
        assert response.json()["content_type"] == "text/plain"


def test_custody_wallet_refuses_private_keys_and_bad_descriptors(admin_user, other_agency):
    from core.errors import ValidationFailed
    from intake.services import custody_wallet_register

    good = [key_expression("k1"), key_expression("k2"), key_expression("k3")]
    bad_calls = [
        ({"threshold": 2, "keys": [private_extended("k1"), *good[1:]]}, "private_key_refused"),
        ({"threshold": 4, "keys": good}, "invalid_descriptor"),
        ({"threshold": 0, "keys": good}, "invalid_descriptor"),
        ({"threshold": 2, "keys": [good[0], good[0]]}, "invalid_descriptor"),
        ({"threshold": 2, "keys": ["tpubnonsense", *good[1:]]}, "invalid_descriptor"),
        ({"descriptor": "wpkh(" + good[0] + "/0/*)"}, "invalid_descriptor"),
        ({"descriptor": f"wsh(sortedmulti(2,{good[0]}/0/*,{good[1]}/0/*))#abcdefgh"},
         "invalid_descriptor"),
        ({"descriptor": f"wsh(sortedmulti(1,{good[0]}/0/1))"}, "invalid_descriptor"),
    ]
    for kwargs, code in bad_calls:
        with pytest.raises(ValidationFailed) as refused:
            custody_wallet_register(actor=admin_user, agency=other_agency, network="regtest",
                                    label="w", **kwargs)
        assert refused.value.code == code, kwargs
    assert not other_agency.custody_wallets.exists()
    # A mainnet xpub on a regtest wallet is the wrong network.
    from embit import bip32
    from embit.networks import NETWORKS

    root = bip32.HDKey.from_seed(b"\x01" * 32, version=NETWORKS["main"]["xprv"])
    xpub = root.derive("m/48h/0h/0h/2h").to_public().to_base58(version=NETWORKS["main"]["xpub"])
    with pytest.raises(ValidationFailed) as refused:
        custody_wallet_register(actor=admin_user, agency=other_agency, network="regtest",
                                label="w", threshold=1, keys=[xpub])
    assert refused.value.code == "wrong_network"


def test_attack_a_final_order_dated_2099_is_refused_and_moves_nothing(api, legal, agency):
    """The review: a final confiscation order dated 2099 was accepted and moved the case."""
    case = CaseFactory(agency=agency, status="UNDER_REVIEW", reviewer=None)
    events = AuditEvent.objects.count()
    reply = api(legal).post(url(case.public_id, "approve"),
                            {**ORDER_PAYLOAD, "order_date": "2099-01-01"}, format="json")
    assert (reply.status_code, reply.json()["code"]) == (400, "date_in_future")
    case.refresh_from_db()
    assert case.status == "UNDER_REVIEW" and not hasattr(case, "confiscation_order")
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("field", ["warrant_date", "seizure_date"])
def test_a_warrant_or_seizure_in_the_future_is_refused(api, clerk, field):
    import datetime as dt

    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    body = {**CASE_PAYLOAD, field: tomorrow}
    if field == "seizure_date":
        body["warrant_date"] = dt.date.today().isoformat()
    else:
        body.pop("seizure_date")
    reply = api(clerk).post(url(), body, format="json")
    assert (reply.status_code, reply.json()["code"]) == (400, "date_in_future")
    assert not SeizureCase.objects.exists()


# --- the legal documents (issue 8 point 8) -------------------------------------------------
def test_attack_an_order_with_a_hash_typed_by_hand_is_refused(api, legal, agency):
    """The review: the order's document hash was typed by hand and tied to nothing."""
    case = CaseFactory(agency=agency, status="UNDER_REVIEW", reviewer=None)
    EvidenceFactory(case=case, kind=Evidence.Kind.WARRANT)
    events = AuditEvent.objects.count()
    reply = api(legal).post(url(case.public_id, "approve"), ORDER_PAYLOAD, format="json")
    assert (reply.status_code, reply.json()["code"]) == (400, "order_document_missing")
    assert reply.json()["field"] == "document_sha256"
    # The hash of a document of the case that is not the court's order: refused too.
    warrant = case.evidence.get()
    reply = api(legal).post(url(case.public_id, "approve"),
                            {**ORDER_PAYLOAD, "document_sha256": warrant.sha256.upper()},
                            format="json")
    assert (reply.status_code, reply.json()["code"]) == (400, "order_document_mismatch")
    # Another case's order document does not count for this one.
    EvidenceFactory(case=CaseFactory(agency=agency), kind=Evidence.Kind.COURT_ORDER,
                    content=ORDER_DOCUMENT)
    reply = api(legal).post(url(case.public_id, "approve"), ORDER_PAYLOAD, format="json")
    assert reply.json()["code"] == "order_document_missing"
    case.refresh_from_db()
    assert case.status == "UNDER_REVIEW" and not hasattr(case, "confiscation_order")
    assert AuditEvent.objects.count() == events


def test_attack_a_case_submitted_with_no_evidence_is_refused(api, clerk, draft):
    """The review: a case could be submitted with no evidence at all."""
    SeizedAsset.objects.create(case=draft, asset="OTHER", network="n/a", declared_amount=1,
                               verification_status="UNTRACKED")
    EvidenceFactory(case=draft, kind=Evidence.Kind.OTHER)  # a photo is not the warrant
    events = AuditEvent.objects.count()
    reply = api(clerk).post(url(draft.public_id, "submit"))
    assert (reply.status_code, reply.json()["code"]) == (409, "warrant_document_missing")
    draft.refresh_from_db()
    assert draft.status == "DRAFT" and AuditEvent.objects.count() == events
    EvidenceFactory(case=draft, kind=Evidence.Kind.SEIZURE_PROTOCOL)
    assert api(clerk).post(url(draft.public_id, "submit")).json()["status"] == "SUBMITTED"


def test_who_uploads_which_document(api, clerk, legal, legal2, agency):
    case = CaseFactory(agency=agency, status="UNDER_REVIEW", reviewer=legal)
    doc = {"file": SimpleUploadedFile("o.pdf", ORDER_DOCUMENT)}
    # A legal officer uploads court orders only, and only the reviewer of the case.
    as_warrant = api(legal).post(url(case.public_id, sub="evidence"),
                                 {**doc, "kind": "WARRANT"}, format="multipart")
    assert as_warrant.status_code == 403
    doc = {"file": SimpleUploadedFile("o.pdf", ORDER_DOCUMENT)}
    not_theirs = api(legal2).post(url(case.public_id, sub="evidence"),
                                  {**doc, "kind": "COURT_ORDER"}, format="multipart")
    assert not_theirs.status_code == 403
    bad_kind = api(clerk).post(url(case.public_id, sub="evidence"),
                               {"file": SimpleUploadedFile("o.pdf", ORDER_DOCUMENT),
                                "kind": "RUMOUR"}, format="multipart")
    assert (bad_kind.status_code, bad_kind.json()["code"]) == (400, "invalid_choice")
    assert not Evidence.objects.exists()
    uploaded = upload_document(api(legal), case.public_id, kind="COURT_ORDER")
    assert uploaded["kind"] == "COURT_ORDER" and uploaded["sha256"] == DOC_SHA
    event = AuditEvent.objects.get(action="evidence.uploaded")
    assert event.after["kind"] == "COURT_ORDER" and event.actor_id == legal.pk
