"""A watched transaction's states as data. The watchers do not take commands: they observe.
Each observation of a state is the command that leads to it, allowed from the states below;
observing the state a transaction is already in with new details (another block after a
reorg, the spender of a conflict) is a re-entry, performed every time."""

from core.statemachine import Transition, TransitionTable

from .models import TxState as S

_REACHABLE = {
    S.PENDING: {S.MEMPOOL, S.CONFIRMING, S.CONFIRMED, S.CONFLICTED, S.REPLACED, S.DROPPED},
    S.MEMPOOL: {S.PENDING, S.CONFIRMING, S.CONFIRMED, S.CONFLICTED, S.REPLACED, S.DROPPED},
    # back edges: a reorg removed the block
    S.CONFIRMING: {S.PENDING, S.MEMPOOL, S.CONFIRMED, S.CONFLICTED},
    S.CONFIRMED: {S.PENDING, S.MEMPOOL, S.CONFIRMING, S.CONFLICTED},
    # a reorg can bring a conflicted/replaced/dropped transaction back
    S.CONFLICTED: {S.PENDING, S.MEMPOOL, S.CONFIRMING, S.CONFIRMED},
    S.REPLACED: {S.MEMPOOL, S.CONFIRMING, S.CONFIRMED, S.CONFLICTED},
    S.DROPPED: {S.MEMPOOL, S.CONFIRMING, S.CONFIRMED, S.CONFLICTED},
}


def observed(state: S) -> str:
    """The command an observation of state is."""
    return f"observed_{S(state).value.lower()}"


TX_TABLE = TransitionTable("watched transaction", [
    Transition(str(source), observed(target), str(target))
    for source, targets in _REACHABLE.items() for target in targets | {source}
])
