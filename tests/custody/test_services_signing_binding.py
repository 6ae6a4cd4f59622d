"""The signed transaction is bound to the approved payload (issue: no single person… point 4).
The attack from the review: after approval, the stored PSBT is swapped in the database for
one paying 20× the fee."""

import pytest
from embit.psbt import PSBT

from core.errors import Conflict
from core.models import AuditEvent
from custody import services
from custody.models import SignedPsbtUpload, Transfer, TransferStatus
from custody.psbt import payload_hash, payload_of_psbt
from intake.models import CaseAlert
from tests.support.custody import fake_utxos, sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(case, reserve_wallet, bank, bank2, bank3, no_chain):
    transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=reserve_wallet,
                                         utxos=fake_utxos(case, 100_000_000, 50_000_000))
    for officer in (bank2, bank3):
        services.transfer_approve(transfer=transfer, actor=officer,
                                  payload_hash=transfer.payload_hash)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.APPROVED
    return transfer


def swap_for_twenty_times_the_fee(transfer):
    """What an insider with database access did: the same inputs, 20× the fee."""
    psbt = PSBT.from_string(transfer.unsigned_psbt)
    psbt.outputs[0].value -= 19 * transfer.fee_sats  # embit serializes the outputs' scopes
    swapped = psbt.to_string()
    assert payload_of_psbt(swapped, transfer.network)["fee_sats"] == 20 * transfer.fee_sats
    Transfer.objects.filter(pk=transfer.pk).update(unsigned_psbt=swapped)
    return swapped


def test_the_hash_recomputed_from_the_approved_psbt_is_the_approved_hash(approved):
    assert payload_hash(payload_of_psbt(approved.unsigned_psbt, approved.network)) == \
        approved.payload_hash


def test_attack_a_swapped_psbt_is_refused_at_upload_alarmed_and_audited(approved, bank):
    swapped = swap_for_twenty_times_the_fee(approved)
    with pytest.raises(Conflict) as refused:
        services.transfer_upload_signed(transfer=approved, actor=bank,
                                        psbt=sign(swapped, "c1"))
    assert refused.value.code == "psbt_mismatch"
    assert not SignedPsbtUpload.objects.exists()
    assert Transfer.objects.get(pk=approved.pk).status == TransferStatus.APPROVED
    alert = CaseAlert.objects.get(kind=CaseAlert.Kind.TAMPERING)
    assert alert.case_id == approved.case_id and "signature upload" in alert.message
    assert AuditEvent.objects.filter(action="transfer.payload_mismatch").count() == 1


def test_attack_swapping_the_hash_too_leaves_no_approval_behind_it(approved, bank):
    swapped = swap_for_twenty_times_the_fee(approved)
    forged = payload_hash(payload_of_psbt(swapped, approved.network))
    Transfer.objects.filter(pk=approved.pk).update(payload_hash=forged)
    with pytest.raises(Conflict) as refused:
        services.transfer_upload_signed(transfer=approved, actor=bank,
                                        psbt=sign(swapped, "c1"))
    assert refused.value.code == "psbt_mismatch"
    assert "approvals are bound" in str(refused.value.detail)


def test_attack_a_swap_after_signing_is_caught_before_broadcast(approved, bank, no_chain):
    services.transfer_upload_signed(transfer=approved, actor=bank,
                                    psbt=sign(approved.unsigned_psbt, "c1"))
    services.transfer_upload_signed(transfer=approved, actor=bank,
                                    psbt=sign(approved.unsigned_psbt, "c3"))
    approved.refresh_from_db()
    assert approved.final_tx_hex and approved.status == TransferStatus.SIGNING
    swap_for_twenty_times_the_fee(approved)
    result = services.transfer_broadcast(transfer_id=approved.pk)
    assert result.status == TransferStatus.SIGNING
    assert no_chain["broadcast"] == []  # nothing was sent
    assert CaseAlert.objects.filter(kind=CaseAlert.Kind.TAMPERING,
                                    message__contains="broadcast").exists()


def test_an_untouched_transfer_broadcasts(approved, bank, no_chain):
    for signer in ("c1", "c3"):
        services.transfer_upload_signed(transfer=approved, actor=bank,
                                        psbt=sign(approved.unsigned_psbt, signer))
    result = services.transfer_broadcast(transfer_id=approved.pk)
    assert result.status == TransferStatus.BROADCAST
    assert no_chain["broadcast"] == [Transfer.objects.get(pk=approved.pk).final_tx_hex]
    assert not CaseAlert.objects.filter(kind=CaseAlert.Kind.TAMPERING).exists()
