"""The transfer lifecycle as data (DESIGN §2). Services read it; the API shows it."""

from core.statemachine import TransitionTable

from .models import ApprovalStatus as A
from .models import TransferStatus as T

# Reserve wallets and quorum policies: entered by one person, approved by another.
APPROVAL_TRANSITIONS = TransitionTable("approval", {
    A.PENDING: {A.ACTIVE, A.REJECTED, A.RETIRED},
    A.ACTIVE: {A.SUPERSEDED, A.RETIRED},
    A.REJECTED: set(),
    A.SUPERSEDED: set(),
    A.RETIRED: set(),
})

TRANSFER_TRANSITIONS = TransitionTable("transfer", {
    # A rebuilt payload (new UTXOs or fee) goes back to PROPOSED: earlier approvals and
    # signatures were for another payload and no longer count.
    T.PROPOSED: {T.APPROVED, T.CANCELLED, T.PROPOSED},
    T.APPROVED: {T.SIGNING, T.CANCELLED, T.PROPOSED},
    T.SIGNING: {T.BROADCAST, T.FAILED, T.CANCELLED, T.PROPOSED},
    T.BROADCAST: {T.CONFIRMING, T.REPLACED, T.CONFLICTED},
    T.CONFIRMING: {T.SETTLED, T.BROADCAST, T.REPLACED, T.CONFLICTED},
    # A reorg that removes the block takes a transfer back to BROADCAST (mempool).
    T.SETTLED: {T.BROADCAST, T.CONFLICTED},
    T.CANCELLED: set(),
    T.FAILED: set(),
    T.REPLACED: set(),
    T.CONFLICTED: set(),
})
