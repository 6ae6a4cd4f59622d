"""Custody's lifecycles as command tables (DESIGN §2), and the two questions services ask of
them before the work a command needs.

Every status change of a transfer, a reserve wallet or quorum policy, and a deposit is a
command performed through core.statemachine.apply_transition with one of these tables. User
commands carry the roles that may perform them; system commands (the chain watchers, other
services) carry none and are performed with as_system=True. The API's allowed_transitions
are the targets of a user's commands (TransitionTable.targets_for).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from core.errors import Conflict, ErrorCode
from core.roles import Role, require_role
from core.statemachine import SYSTEM, TransitionTable

from .models import ApprovalStatus as A
from .models import AssetHandover, Deposit, PriceRecord
from .models import TransferStatus as T

D = Deposit.Status

BANK = frozenset({Role.BANK_OFFICER})
LEGAL = frozenset({Role.LEGAL_OFFICER})
ADMIN = frozenset({Role.ADMIN})
WALLET_APPROVERS = frozenset({Role.ADMIN, Role.BANK_OFFICER})


class Command(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RETIRE = "retire"
    SUPERSEDE = "supersede"
    REBUILD = "rebuild"
    CANCEL = "cancel"
    HOLD = "hold"
    SIGN = "sign"
    BROADCAST = "broadcast"
    FAIL = "fail"
    CONFIRM = "confirm"
    SETTLE = "settle"
    REORG = "reorg"
    REPLACE = "replace"
    CONFLICT = "conflict"
    PROPOSE_ATTRIBUTION = "propose_attribution"
    ATTRIBUTE = "attribute"
    REJECT_ATTRIBUTION = "reject_attribution"
    REVERSE = "reverse"
    DROP = "drop"
    REAPPEAR = "reappear"


C = Command

# Reserve wallets and quorum policies: entered by one person, approved by another (the
# services refuse the person who entered it).
APPROVAL_TABLE = TransitionTable.from_spec("approval", {
    A.PENDING: {
        C.APPROVE: (A.ACTIVE, WALLET_APPROVERS),
        C.REJECT: (A.REJECTED, WALLET_APPROVERS),
        C.RETIRE: (A.RETIRED, ADMIN),
    },
    A.ACTIVE: {
        C.SUPERSEDE: (A.SUPERSEDED, SYSTEM),  # a newer policy of the wallet was approved
        C.RETIRE: (A.RETIRED, ADMIN),
    },
})

TRANSFER_TABLE = TransitionTable.from_spec("transfer", {
    T.PROPOSED: {
        # The quorum reached: each officer's approval is a TransferApproval row, the last
        # one needed performs the command.
        C.APPROVE: (T.APPROVED, BANK),
        # A re-entry: a rebuilt payload (new UTXOs or fee) goes back to PROPOSED, and the
        # approvals and signatures so far were for another payload and no longer count.
        C.REBUILD: (T.PROPOSED, BANK),
        C.CANCEL: (T.CANCELLED, BANK),
        # An input's coin vanished (its sweep replaced, double-spent or reorged out, or the
        # coin spent elsewhere): held at once by the watchers, never offered for signing.
        C.HOLD: (T.ON_HOLD, SYSTEM),
    },
    T.APPROVED: {
        C.SIGN: (T.SIGNING, BANK),  # the first signed copy uploaded starts the signing
        C.REBUILD: (T.PROPOSED, BANK),
        C.CANCEL: (T.CANCELLED, BANK),
        C.HOLD: (T.ON_HOLD, SYSTEM),
    },
    T.SIGNING: {
        C.SIGN: (T.SIGNING, BANK),  # a re-entry: each further signed copy adds signatures
        C.BROADCAST: (T.BROADCAST, SYSTEM),  # the node took it, or the watchers saw it
        C.FAIL: (T.FAILED, SYSTEM),  # the node refused it
        C.REBUILD: (T.PROPOSED, BANK),
        C.CANCEL: (T.CANCELLED, BANK),
        C.HOLD: (T.ON_HOLD, SYSTEM),
    },
    # Held: its payload spends a coin that is gone. Only cancelling (the coins are released
    # and the case goes back) leads on; a new proposal is built from the coins there are.
    T.ON_HOLD: {
        C.CANCEL: (T.CANCELLED, BANK),
    },
    T.BROADCAST: {
        C.CONFIRM: (T.CONFIRMING, SYSTEM),
        C.REPLACE: (T.REPLACED, SYSTEM),
        C.CONFLICT: (T.CONFLICTED, SYSTEM),
    },
    T.CONFIRMING: {
        C.SETTLE: (T.SETTLED, SYSTEM),
        C.REORG: (T.BROADCAST, SYSTEM),  # the block left the chain: back to the mempool
        C.REPLACE: (T.REPLACED, SYSTEM),
        C.CONFLICT: (T.CONFLICTED, SYSTEM),
    },
    T.SETTLED: {
        C.REORG: (T.BROADCAST, SYSTEM),  # deeper than the threshold: the ledger is reversed
        C.CONFLICT: (T.CONFLICTED, SYSTEM),
    },
})

# Deposits: one officer proposes where it came from, a second approves (four eyes); only
# then does it enter the ledger.
# A deposit whose transaction vanished before it was attributed (dropped from the mempool,
# replaced, or double-spent) leaves the queue, a proposal with it; the watchers bring it back
# if the transaction returns (a rebroadcast, a reorg).
_VANISH: dict[str, tuple[str, frozenset[str]]] = {
    C.DROP: (D.DROPPED, SYSTEM),
    C.REPLACE: (D.REPLACED, SYSTEM),
    C.CONFLICT: (D.CONFLICTED, SYSTEM),
}
DEPOSIT_TABLE = TransitionTable.from_spec("deposit", {
    D.UNATTRIBUTED: {
        C.PROPOSE_ATTRIBUTION: (D.PROPOSED, BANK),
        C.REVERSE: (D.REVERSED, SYSTEM),  # a reorganisation removed it
        **_VANISH,
    },
    D.PROPOSED: {
        C.ATTRIBUTE: (D.ATTRIBUTED, BANK),
        C.REJECT_ATTRIBUTION: (D.UNATTRIBUTED, BANK),
        C.REVERSE: (D.REVERSED, SYSTEM),
        **_VANISH,
    },
    D.ATTRIBUTED: {
        C.REVERSE: (D.REVERSED, SYSTEM),
    },
    D.DROPPED: {C.REAPPEAR: (D.UNATTRIBUTED, SYSTEM), C.REPLACE: (D.REPLACED, SYSTEM),
                C.CONFLICT: (D.CONFLICTED, SYSTEM)},
    D.REPLACED: {C.REAPPEAR: (D.UNATTRIBUTED, SYSTEM), C.CONFLICT: (D.CONFLICTED, SYSTEM)},
    D.CONFLICTED: {C.REAPPEAR: (D.UNATTRIBUTED, SYSTEM)},
})

# A price: recorded by one person, approved (or rejected) by another.
P = PriceRecord.Status
PRICE_TABLE = TransitionTable.from_spec("price", {
    P.PENDING: {
        C.APPROVE: (P.ACTIVE, frozenset({Role.BANK_OFFICER, Role.ADMIN})),
        C.REJECT: (P.REJECTED, frozenset({Role.BANK_OFFICER, Role.ADMIN})),
    },
})

# A court's release order: recorded by a legal officer, approved (the destination enters the
# whitelist) or rejected by another one.
RELEASE_ORDER_TABLE = TransitionTable.from_spec("release order", {
    A.PENDING: {
        C.APPROVE: (A.ACTIVE, LEGAL),
        C.REJECT: (A.REJECTED, LEGAL),
    },
})

# An asset handed over without a transfer (custodian's receipt, or a release): proposed by a
# bank officer, approved or rejected by another.
H = AssetHandover.Status
HANDOVER_TABLE = TransitionTable.from_spec("asset handover", {
    H.PROPOSED: {
        C.APPROVE: (H.APPROVED, BANK),
        C.REJECT: (H.REJECTED, BANK),
    },
})

# What the chain watchers' news is, in transfer commands, and the states it can apply to
# (those the chain commands lead from or to): never-signed, cancelled and failed transfers
# have nothing on chain to hear about.
CHAIN_COMMANDS = frozenset({C.BROADCAST, C.CONFIRM, C.SETTLE, C.REORG, C.REPLACE,
                            C.CONFLICT})
WATCHED_STATES = frozenset(state for t in TRANSFER_TABLE.transitions()
                           if t.command in CHAIN_COMMANDS for state in (t.source, t.target))


def require_command_role(actor: Any, table: TransitionTable, command: Command) -> None:
    """Refuse (403) unless actor holds a role the table gives command. Asked by services
    before the work that comes ahead of the transition (node calls, approval rows, signed
    copies), so who is answered before what; apply_transition asks again as it performs."""
    roles = {role for t in table.transitions() if t.command == command for role in t.roles}
    require_role(actor, *sorted(roles))


def check_command(table: TransitionTable, current: str, command: Command, *,
                  as_system: bool = False) -> bool:
    """Ask the table before the work a command needs, by apply_transition's rule: True when
    it is to be performed; TransitionNotAllowed (409) when it is refused, a person's repeat
    included; False for a system command whose target the row is already in (a repeat
    of a watcher or task: nothing to do)."""
    return table.resolve(current, command, repeat_is_noop=as_system) is not None


def takes_signatures(status: str) -> bool:
    """Signed copies are taken, and the unsigned PSBT handed out, from the quorum's approval
    until the transaction is sent."""
    return TRANSFER_TABLE.get(status, C.SIGN) is not None


def refuse_if_on_hold(status: str) -> None:
    """A held transfer is never offered for signing: its PSBT is not handed out and no
    signed copy is taken (409 transfer_on_hold)."""
    if status == T.ON_HOLD:
        raise Conflict("This transfer is on hold: one of its inputs vanished (its sweep was "
                       "replaced, double-spent or reorged out, or the coin was spent "
                       "elsewhere). It can't be signed; cancel it and propose again.",
                       code=ErrorCode.TRANSFER_ON_HOLD, current_status=status)
