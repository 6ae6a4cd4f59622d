"""Reserve wallets and quorum policies: four eyes, and the approval transition table."""

import pytest

from core.errors import PermissionRefused, TransitionNotAllowed
from core.models import AuditEvent
from custody import services
from custody.models import ApprovalStatus, QuorumPolicy
from tests.support.custody import make_reserve_wallet
from tests.support.keys import key_expression

pytestmark = pytest.mark.django_db


def register(admin):
    return services.reserve_wallet_register(
        actor=admin, network="regtest", label="cold",
        threshold=2, keys=[key_expression(n) for n in ("w1", "w2", "w3")])


def test_the_person_who_entered_a_wallet_cannot_approve_it(admin_user, bank):
    wallet = register(admin_user)
    with pytest.raises(PermissionRefused) as refused:
        services.reserve_wallet_approve(wallet=wallet, actor=admin_user)
    assert refused.value.code == "own_entry"
    wallet.refresh_from_db()
    assert wallet.status == ApprovalStatus.PENDING
    services.reserve_wallet_approve(wallet=wallet, actor=bank)
    wallet.refresh_from_db()
    assert (wallet.status, wallet.approved_by) == (ApprovalStatus.ACTIVE, bank)


def test_a_retired_wallet_cannot_be_approved_again(admin_user, bank):
    wallet = register(admin_user)
    services.reserve_wallet_retire(wallet=wallet, actor=admin_user, reason="key ceremony redone")
    events = AuditEvent.objects.count()
    with pytest.raises(TransitionNotAllowed):
        services.reserve_wallet_approve(wallet=wallet, actor=bank)
    wallet.refresh_from_db()
    assert wallet.status == ApprovalStatus.RETIRED
    assert AuditEvent.objects.count() == events


def test_a_new_policy_supersedes_the_active_one_only_when_approved(admin_user, bank):
    wallet = make_reserve_wallet(admin=admin_user, approver=bank)
    first = QuorumPolicy.objects.get(wallet=wallet, status=ApprovalStatus.ACTIVE)
    second = services.quorum_policy_propose(wallet=wallet, actor=admin_user, tiers=[
        {"min_amount_sats": 0, "approvals": 2}, {"min_amount_sats": 10**9, "approvals": 3}])
    first.refresh_from_db()
    assert first.status == ApprovalStatus.ACTIVE  # proposing changes nothing yet
    with pytest.raises(PermissionRefused):
        services.quorum_policy_approve(policy=second, actor=admin_user)
    services.quorum_policy_approve(policy=second, actor=bank)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (ApprovalStatus.SUPERSEDED, ApprovalStatus.ACTIVE)
    with pytest.raises(TransitionNotAllowed):
        services.quorum_policy_approve(policy=first, actor=bank)
