"""Checkpoints and bundles: the audit record anchored outside the database, and checked by
tools/verify_audit_bundle.py with Python's standard library alone (DESIGN §6).

Each attack below is made the way only the tables' owner or a superuser could, and each
leaves a chain that is consistent in itself, so that verification inside the database
passes: what catches it is a checkpoint the auditor kept."""

import datetime as dt
import hashlib
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from core.audit import (
    GENESIS_HASH,
    AuditAction,
    _normalise,
    canonical_event,
    chain_hash,
    record_event,
    verify_chain,
)
from core.models import AuditChainHead, AuditEvent
from tools import verify_audit_bundle as offline

ROOT = Path(__file__).resolve().parents[2]
FIELDS = ("seq", "created_at", "actor_id", "actor_username", "action", "object_type",
          "object_id", "before", "after", "reason")


class BundleTestAction(AuditAction):
    EVENT = "test.bundle_event"
    NASTY = "test.bundle_nasty"


def write_events(n, **extra):
    with transaction.atomic():
        for i in range(n):
            record_event(actor=None, action=BundleTestAction.EVENT, object_type="test",
                         object_id=str(i),
                         after={"i": i, "amount_sats": 10**i}, **extra)


def take_checkpoint(capsys):
    call_command("audit_checkpoint")
    return capsys.readouterr().out.strip()


def export(tmp_path, name="bundle.jsonl"):
    path = tmp_path / name
    call_command("export_audit_bundle", out=str(path))
    return path


def verify(path, *checkpoint_lines, **options):
    checkpoints = [offline.parse_checkpoint(line, "test") for line in checkpoint_lines]
    return offline.verify_bundle(path, checkpoints, **options)


def as_owner(*statements):
    """Statements run as someone who owns the tables: triggers and constraint out of the way
    for the duration (the constraint comes back validated, so nothing looks amiss)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE core_auditchainhead DISABLE TRIGGER USER")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER USER")
        cursor.execute("ALTER TABLE core_auditchainhead ENABLE TRIGGER USER")


def set_head(seq, digest):
    return ("UPDATE core_auditchainhead SET seq = %s, hash = %s", [seq, digest])


# --- the canonical form, in both implementations -------------------------------------------
NASTY = [
    {"text": 'quote " backslash \\ slash / newline \n tab \t cr \r nul-ish \x01 \x1f del \x7f'},
    {"unicode": "Қазақша Русский 😀 \u2028 \u2029 \ufeff é", "ключ": "значение"},
    {"numbers": [0, -1, 2**63, 10**30, 1.5, -0.0, 1e-7, 1e16, 0.1 + 0.2]},
    {"nested": {"z": [1, {"b": None, "a": True}], "a": {"": False}}},
    {"amount": Decimal("0.49998420"), "when": dt.datetime(2026, 3, 1, tzinfo=dt.UTC)},
    None,
]


@pytest.mark.django_db
def test_the_server_and_the_offline_verifier_hash_the_same_events_alike(clerk):
    with transaction.atomic():
        for i, value in enumerate(NASTY):
            record_event(actor=clerk if i % 2 else None, action=BundleTestAction.NASTY,
                         object_type="test", object_id=f"id-\"{i}\"\n", before=value,
                         after=value, reason=f"reason {i}: «{value!r}»")
    events = AuditEvent.objects.filter(action=BundleTestAction.NASTY).order_by("seq")
    prev = events[0].prev_hash
    for event, value in zip(events, NASTY, strict=True):
        # What record_event hashed, rebuilt from what it was given ...
        fields = {name: getattr(event, name) for name in FIELDS}
        server = canonical_event(**fields | {"before": _normalise(value),
                                             "after": _normalise(value)})
        # ... and what the auditor's verifier makes of the exported event.
        as_exported = json.loads(event.canonical)
        assert offline.canonical(as_exported) == server == event.canonical
        assert offline.event_hash(prev, as_exported) == chain_hash(prev, server) == event.hash
        prev = event.hash
    # jsonb gives some numbers back in another form (1e+16 as 10000000000000000, -0.0 as
    # 0.0): that is no edit, whether the stored text is hashed or the fields are compared.
    assert verify_chain().ok and verify_chain(recompute=True).ok


# --- bundles ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_an_untouched_bundle_verifies_and_extends_the_checkpoints_kept(tmp_path, capsys):
    write_events(3)
    early = take_checkpoint(capsys)
    write_events(4)
    late = take_checkpoint(capsys)
    report = verify(export(tmp_path), early, late, "0:" + GENESIS_HASH)
    assert report.ok, report.problems
    assert report.events == report.last_seq == report.chain_intact_through == 7
    assert report.checkpoints_checked == [0, 3, 7]


@pytest.mark.django_db
def test_truncate_and_head_reset_pass_inside_but_not_against_an_earlier_checkpoint(
        tmp_path, capsys, postgresql):
    write_events(6)
    kept = take_checkpoint(capsys)
    # The attack of the review: empty the table, reset the head, carry on.
    as_owner(("TRUNCATE core_auditevent", []), set_head(0, GENESIS_HASH))
    write_events(2)
    assert verify_chain().ok  # inside the database nothing looks wrong
    report = verify(export(tmp_path), kept)
    assert not report.ok
    assert any("ends at #2, before the checkpoint" in p for p in report.problems)
    with pytest.raises(SystemExit):
        call_command("verify_audit_chain", checkpoint=[kept])
    assert "before checkpoint #6" in capsys.readouterr().err


@pytest.mark.django_db
def test_a_wiped_chain_rebuilt_longer_is_caught_as_rewritten(tmp_path, capsys, postgresql):
    write_events(3)
    kept = take_checkpoint(capsys)
    as_owner(("TRUNCATE core_auditevent", []), set_head(0, GENESIS_HASH))
    write_events(5)
    assert verify_chain().ok
    report = verify(export(tmp_path), kept)
    assert any("event #3 has another hash" in p for p in report.problems)


@pytest.mark.django_db
def test_an_edit_rehashed_to_the_end_is_caught_against_the_checkpoint(tmp_path, capsys,
                                                                        postgresql):
    write_events(8)
    kept = take_checkpoint(capsys)
    # Edit event 4 and re-hash it and everything after: a chain consistent in itself.
    prev = AuditEvent.objects.get(seq=3).hash
    statements = []
    for event in AuditEvent.objects.filter(seq__gte=4).order_by("seq"):
        fields = {name: getattr(event, name) for name in FIELDS}
        if event.seq == 4:
            fields["after"] = {"i": 3, "amount_sats": 1}
        canonical = canonical_event(**fields)
        digest = chain_hash(prev, canonical)
        statements.append(("UPDATE core_auditevent SET after = %s, canonical = %s, "
                           "prev_hash = %s, hash = %s WHERE seq = %s",
                           [json.dumps(fields["after"]), canonical, prev, digest, event.seq]))
        prev = digest
    as_owner(*statements, set_head(8, prev))
    assert verify_chain().ok  # consistent in itself
    report = verify(export(tmp_path), kept)
    assert not report.ok
    assert any("event #8 has another hash" in p and "re-hashed" in p for p in report.problems)
    with pytest.raises(SystemExit):
        call_command("verify_audit_chain", checkpoint=[kept])
    assert "rewritten" in capsys.readouterr().err


@pytest.mark.django_db
def test_a_deleted_tail_is_caught(tmp_path, capsys, postgresql):
    write_events(6)
    kept = take_checkpoint(capsys)
    six = AuditEvent.objects.get(seq=4)
    as_owner(("DELETE FROM core_auditevent WHERE seq > 4", []), set_head(4, six.hash))
    assert verify_chain().ok  # the head was moved back too
    report = verify(export(tmp_path), kept)
    assert any("the chain ends at #4, before the checkpoint" in p for p in report.problems)


@pytest.mark.django_db
def test_a_bundle_edited_after_export_or_cut_short_fails(tmp_path, capsys):
    write_events(4)
    kept = take_checkpoint(capsys)
    path = export(tmp_path)
    lines = path.read_text().splitlines()
    edited = tmp_path / "edited.jsonl"
    edited.write_text("\n".join(line.replace('"amount_sats":100', '"amount_sats":101')
                                for line in lines) + "\n")
    report = verify(edited, kept)
    assert any("breaks at event #3" in p and "edited" in p for p in report.problems)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:3]) + "\n")
    report = verify(cut, kept)
    assert any("cut short" in p for p in report.problems)
    assert any("before the checkpoint" in p for p in report.problems)


# --- signed checkpoints -------------------------------------------------------------------------
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def test_the_offline_ed25519_check_passes_rfc_8032_test_1():
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    assert offline.ed25519_verify(bytes.fromhex(PUBLIC), b"", signature)
    assert not offline.ed25519_verify(bytes.fromhex(PUBLIC), b"x", signature)


def test_the_offline_ed25519_check_agrees_with_cryptography():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    for size in (0, 1, 64, 1000):
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        message = hashlib.sha256(str(size).encode()).digest() * (size // 32) + b"x" * (size % 32)
        signature = key.sign(message)
        assert offline.ed25519_verify(public, message, signature)
        flipped = bytes([signature[0] ^ 1]) + signature[1:]
        assert not offline.ed25519_verify(public, message, flipped)
        assert not offline.ed25519_verify(public, message + b"!", signature)


@pytest.mark.django_db
def test_signed_checkpoints_verify_offline_with_the_pinned_key_only(tmp_path, capsys,
                                                                     settings):
    settings.AUDIT_CHECKPOINT_KEY = SEED
    call_command("audit_checkpoint", public_key=True)
    assert capsys.readouterr().out.strip() == PUBLIC
    write_events(3)
    kept = take_checkpoint(capsys)
    assert json.loads(kept)["signature"]["key"] == PUBLIC
    path = export(tmp_path)
    report = verify(path, kept, public_key=PUBLIC, require_signature=True)
    assert report.ok, report.problems
    forged = json.loads(kept) | {"issued_at": "2020-01-01T00:00:00.000000+00:00"}
    report = verify(path, json.dumps(forged), public_key=PUBLIC)
    assert any("signature is not valid" in p for p in report.problems)
    other_key = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
    assert not verify(path, kept, public_key=other_key).ok
    assert any("not signed" in p for p in verify(path, "3:" + json.loads(kept)["hash"],
                                                 public_key=PUBLIC,
                                                 require_signature=True).problems)


# --- the reserve ledger's legal basis --------------------------------------------------------
def _settled_transfer(*, agency, legal, bank, bank2, bank3, admin, n, order_finality="FINAL",
                      approvers=None):
    from custody.audit import CustodyAction
    from custody.models import (
        ApprovalStatus,
        JournalEntry,
        LedgerAccount,
        LedgerLine,
        ReserveAddress,
        ReserveWallet,
        Transfer,
        TransferApproval,
        TransferStatus,
    )
    from intake.models import CaseStatus, ConfiscationOrder
    from tests.support.factories import CaseFactory

    case = CaseFactory(agency=agency, status=CaseStatus.IN_RESERVE)
    if order_finality:
        ConfiscationOrder.objects.create(case=case, court="Almaty City Court",
                                         order_number=f"2-{n}/2026", order_date=dt.date(2026, 2, 1),
                                         document_sha256=hashlib.sha256(b"order").hexdigest(),
                                         finality=order_finality, recorded_by=legal)
    wallet, _ = ReserveWallet.objects.get_or_create(
        descriptor="wsh(sortedmulti(2,test))", defaults=dict(
            network="regtest", label="Reserve", threshold=2, key_count=3,
            status=ApprovalStatus.ACTIVE, entered_by=admin, approved_by=bank3))
    address = ReserveAddress.objects.create(wallet=wallet, index=n, address=f"bcrt1qtest{n}",
                                            script_pubkey="0020" + "ab" * 32)
    txid = hashlib.sha256(f"tx{n}".encode()).hexdigest()
    transfer = Transfer.objects.create(
        case=case, reserve_wallet=wallet, destination=address, network="regtest",
        status=TransferStatus.SETTLED, proposed_by=bank, payload={"n": n},
        payload_hash="p" * 64, approvals_required=2, input_total_sats=100_000,
        amount_sats=99_000, fee_sats=1_000, fee_rate_sat_vb=10, unsigned_psbt="cHNidP8=",
        unsigned_txid=txid, txid=txid, block_hash="b" * 64, block_height=120 + n)
    for approver in (approvers if approvers is not None else (bank2, bank3)):
        TransferApproval.objects.create(transfer=transfer, approver=approver,
                                        payload_hash="p" * 64)
    entry = JournalEntry.objects.create(
        kind=JournalEntry.Kind.TRANSFER_SETTLED, network="regtest", transfer=transfer,
        txid=txid, block_hash="b" * 64, block_height=120 + n)
    LedgerLine.objects.create(entry=entry, account=LedgerAccount.RESERVE, amount_sats=99_000,
                              reserve_wallet=wallet, reserve_address=address, case=case,
                              source="SEIZURE")
    LedgerLine.objects.create(entry=entry, account=LedgerAccount.CUSTODY,
                              amount_sats=-99_000, case=case, source="SEIZURE")
    record_event(actor=None, action=CustodyAction.LEDGER_POSTED, obj=entry,
                 after={"kind": entry.kind, "transfer": str(transfer.public_id)})
    return entry


@pytest.mark.django_db
def test_a_ledger_entry_without_its_legal_basis_is_flagged(tmp_path, capsys, agency, legal,
                                                            bank, bank2, bank3, admin_user):
    people = dict(agency=agency, legal=legal, bank=bank, bank2=bank2, bank3=bank3,
                  admin=admin_user)
    with transaction.atomic():
        lawful = _settled_transfer(n=1, **people)
        no_order = _settled_transfer(n=2, order_finality=None, **people)
        on_appeal = _settled_transfer(n=3, order_finality="UNDER_APPEAL",
                                      approvers=(bank, bank2), **people)
    kept = take_checkpoint(capsys)
    path = export(tmp_path)
    report = verify(path, kept)
    flagged = {p.split()[2]: p for p in report.problems if p.startswith("ledger entry")}
    assert set(flagged) == {str(no_order.public_id), str(on_appeal.public_id)}
    assert "no court order" in flagged[str(no_order.public_id)]
    assert "not final (UNDER_APPEAL)" in flagged[str(on_appeal.public_id)]
    assert "1 approval(s)" in flagged[str(on_appeal.public_id)]  # the proposer's never counts
    entries = [json.loads(line) for line in path.read_text().splitlines()
               if '"type":"ledger_entry"' in line]
    first = next(e for e in entries if e["id"] == str(lawful.public_id))
    assert first["court_order"]["document_sha256"] == hashlib.sha256(b"order").hexdigest()
    assert [a["approver"] for a in first["transfer"]["approvals"]] == ["bank2", "bank3"]
    assert first["txid"] == first["transfer"]["txid"] and first["block_height"] == 121


@pytest.mark.django_db
def test_a_ledger_entry_the_chain_does_not_record_is_flagged(tmp_path, capsys, agency, legal,
                                                              bank, bank2, bank3, admin_user):
    with transaction.atomic():
        entry = _settled_transfer(n=1, agency=agency, legal=legal, bank=bank, bank2=bank2,
                                  bank3=bank3, admin=admin_user)
    as_owner(("DELETE FROM core_auditevent WHERE action = 'ledger.posted'", []))
    report = verify(export(tmp_path))
    assert any(str(entry.public_id) in p and "no event in the intact chain" in p
               for p in report.problems)


# --- the verifier alone -----------------------------------------------------------------------
@pytest.mark.django_db
def test_the_verifier_runs_on_the_standard_library_alone(tmp_path, capsys):
    write_events(3)
    kept = take_checkpoint(capsys)
    path = export(tmp_path)
    (tmp_path / "kept.jsonl").write_text(kept + "\n")
    command = [sys.executable, "-I", "-S", str(ROOT / "tools" / "verify_audit_bundle.py"),
               str(path), "--checkpoint-file", str(tmp_path / "kept.jsonl")]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RESULT: OK" in done.stdout
    done = subprocess.run([*command[:4], str(path), "--checkpoint", "9:" + "a" * 64],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 1 and "PROBLEM" in done.stdout


@pytest.mark.django_db
def test_no_checkpoint_for_a_broken_chain(capsys):
    write_events(3)
    as_owner(("UPDATE core_auditevent SET hash = %s WHERE seq = 3", ["c" * 64]))
    with pytest.raises(Exception, match="no checkpoint issued"):
        call_command("audit_checkpoint")
    assert AuditChainHead.objects.get().seq == 3
