"""Building blocks for custody tests: a confiscated case with a custody address, an approved
reserve wallet with a 2-approval policy, and custody UTXOs made in memory (real transactions
paying the real custody address, never broadcast)."""

import datetime as dt
import hashlib

from embit import ec
from embit.psbt import PSBT
from embit.script import Script
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput

from core.bitcoin import MultisigDescriptor
from custody import services
from custody.psbt import SpendableOutput
from intake.models import (
    AssetKind,
    CaseStatus,
    ConfiscationOrder,
    SeizedAsset,
    VerificationStatus,
)
from tests.support.factories import CaseFactory, UserFactory
from tests.support.second_factor import fresh_step_up
from tools.demo_signer import key_expression, signer_root

RESERVE_SIGNERS = ("r1", "r2", "r3")


def make_reserve_wallet(*, admin, approver, tiers=None, signers=RESERVE_SIGNERS, m=2):
    wallet = services.reserve_wallet_register(
        actor=admin, network="regtest", label="NBK cold reserve", threshold=m,
        keys=[key_expression(s) for s in signers])
    services.reserve_wallet_approve(wallet=wallet, actor=approver,
                                    step_up=fresh_step_up(approver))
    policy = services.quorum_policy_propose(
        wallet=wallet, actor=admin, tiers=tiers or [{"min_amount_sats": 0, "approvals": 2}])
    services.quorum_policy_approve(policy=policy, actor=approver,
                                   step_up=fresh_step_up(approver))
    wallet.refresh_from_db()
    return wallet


def make_confiscated_case(*, agency, custody_wallet, legal=None, status=CaseStatus.
                          CONFISCATION_APPROVED, finality=ConfiscationOrder.Finality.FINAL,
                          declared=150_000_000, index=None):
    legal = legal or UserFactory()
    index = custody_wallet.next_index if index is None else index
    descriptor = MultisigDescriptor(custody_wallet.descriptor, custody_wallet.threshold,
                                    custody_wallet.key_count)
    address = descriptor.address_at(index, custody_wallet.network)
    custody_wallet.next_index = index + 1
    custody_wallet.save(update_fields=["next_index"])
    case = CaseFactory(agency=agency, status=status, custody_wallet=custody_wallet,
                       custody_index=index, custody_address=address,
                       seizure_date=dt.date(2026, 2, 1))
    # Confiscated and transferable: its coins were verified on chain at intake.
    SeizedAsset.objects.create(case=case, asset=AssetKind.BTC, network="regtest",
                               declared_amount=declared, custody_address=address,
                               verification_status=VerificationStatus.VERIFIED,
                               observed_amount=declared)
    ConfiscationOrder.objects.create(case=case, court="Astana City Court", order_number="2-1",
                                     order_date=dt.date(2026, 3, 1), document_sha256="a" * 64,
                                     finality=finality, recorded_by=legal)
    return case


def fake_utxos(case, *amounts, salt=b""):
    """In-memory funding transactions paying the case's custody address."""
    descriptor = MultisigDescriptor(case.custody_wallet.descriptor, 2, 3)
    script = Script(bytes.fromhex(descriptor.script_pubkey_at(case.custody_index)))
    out = []
    for n, amount in enumerate(amounts):
        seed = hashlib.sha256(salt + case.custody_address.encode() + bytes([n])).digest()
        prev = Transaction(vin=[TransactionInput(seed, 0)],
                           vout=[TransactionOutput(amount, script)])
        out.append(SpendableOutput(prev.txid().hex(), 0, amount, script.data.hex(),
                                   prev.serialize().hex()))
    return out


def sign(psbt_base64, signer):
    psbt = PSBT.from_string(psbt_base64)
    assert psbt.sign_with(signer_root(signer)) > 0
    return psbt.to_string()


def sign_with_foreign_key(psbt_base64, name="intruder"):
    """A valid signature by a key that is not in the custody descriptor."""
    psbt = PSBT.from_string(psbt_base64)
    key = signer_root(name).derive("m/48h/1h/0h/2h/0/0")
    for i, inp in enumerate(psbt.inputs):
        sig = key.key.sign(psbt.sighash(i, sighash=SIGHASH.ALL))
        inp.partial_sigs[key.key.get_public_key()] = sig.serialize() + bytes([SIGHASH.ALL])
    return psbt.to_string()


def forge_signature(psbt_base64, signer):
    """A signature claiming a custody key, over the wrong message."""
    psbt = PSBT.from_string(psbt_base64)
    real = PSBT.from_string(sign(psbt_base64, signer))
    for ours, theirs in zip(psbt.inputs, real.inputs, strict=True):
        for pub in theirs.partial_sigs:
            bogus = ec.PrivateKey(hashlib.sha256(b"bogus").digest()).sign(b"\x01" * 32)
            ours.partial_sigs[pub] = bogus.serialize() + bytes([SIGHASH.ALL])
    return psbt.to_string()


def seen_by_watchers(*, tip, outputs):
    """The chain watchers' record after a poll at tip, written as the poller writes it (for
    tests whose chain is in memory): the cursor, and outputs [(txid, vout, address, sats,
    block_height or None)] at watched addresses."""
    from django.utils import timezone

    from chain.models import ChainCursor, WatchedOutput

    ChainCursor.objects.update_or_create(id=1, defaults={
        "height": tip.height, "block_hash": tip.block_hash, "tip_time": tip.time,
        "polled_at": timezone.now()})
    for txid, vout, address, sats, height in outputs:
        WatchedOutput.objects.update_or_create(txid=txid, vout=vout, defaults={
            "address": address, "value_sats": sats, "block_height": height,
            "block_hash": f"{height:064x}" if height is not None else ""})
    return ChainCursor.objects.get(id=1)
