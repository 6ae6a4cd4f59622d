"""Two officers approving at the same moment, each on their own PostgreSQL connection."""

import pytest

from custody import services
from custody.models import Transfer, TransferApproval, TransferStatus
from custody.selectors import counted_approvals
from tests.support.concurrency import run_at_once
from tests.support.custody import fake_utxos, make_confiscated_case, make_reserve_wallet
from tests.support.second_factor import fresh_step_up


@pytest.mark.django_db(transaction=True)
def test_two_officers_approving_at_the_same_moment(agency, admin_user, bank, bank2, bank3,
                                                   custody_wallet, no_chain, postgresql):
    from tests.support.factories import UserFactory

    approver = UserFactory(username="wallet-approver", roles=["bank_officer"])
    wallet = make_reserve_wallet(admin=admin_user, approver=approver)
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet)
    for _ in range(3):  # a few rounds: the race must not be a matter of luck
        transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=wallet,
                                             utxos=fake_utxos(case, 90_000_000))
        results = run_at_once(
            lambda t=transfer: services.transfer_approve(transfer=t, actor=bank2,
                                                         payload_hash=t.payload_hash,
                                                         step_up=fresh_step_up(bank2)),
            lambda t=transfer: services.transfer_approve(transfer=t, actor=bank3,
                                                         payload_hash=t.payload_hash,
                                                         step_up=fresh_step_up(bank3)))
        assert [r[0] for r in results] == ["ok", "ok"], results
        transfer.refresh_from_db()
        assert transfer.status == TransferStatus.APPROVED
        assert counted_approvals(transfer).count() == 2
        assert TransferApproval.objects.filter(transfer=transfer).count() == 2
        services.transfer_cancel(transfer=transfer, actor=bank, reason="next round")
    assert Transfer.objects.filter(status=TransferStatus.CANCELLED).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_same_officer_twice_at_the_same_moment_counts_once(agency, admin_user, bank, bank2,
                                                               custody_wallet, no_chain,
                                                               postgresql):
    from core.errors import ErrorCode
    from tests.support.factories import UserFactory

    approver = UserFactory(username="wallet-approver", roles=["bank_officer"])
    wallet = make_reserve_wallet(admin=admin_user, approver=approver)
    case = make_confiscated_case(agency=agency, custody_wallet=custody_wallet)
    transfer = services.transfer_propose(actor=bank, case=case, reserve_wallet=wallet,
                                         utxos=fake_utxos(case, 90_000_000))
    # Two codes given one after the other (as two browser tabs would each have one): the
    # race under test is the service's, not django-otp's check of a single code.
    step_ups = iter([fresh_step_up(bank2), fresh_step_up(bank2)])

    def approve(step_up):
        return lambda: services.transfer_approve(
            transfer=transfer, actor=bank2, payload_hash=transfer.payload_hash, step_up=step_up)

    results = run_at_once(approve(next(step_ups)), approve(next(step_ups)))
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["error", "ok"], results
    error = next(r[1] for r in results if r[0] == "error")
    assert error.code == ErrorCode.ALREADY_APPROVED
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.PROPOSED
    assert counted_approvals(transfer).count() == 1
