"""The chain watchers' audit actions."""

from core.audit import AuditAction

from .models import TxState


class ChainAction(AuditAction):
    TX_WATCHED = "chain.tx_watched"
    TX_INPUTS_LEARNED = "chain.tx_inputs_learned"
    ADDRESS_WATCHED = "chain.address_watched"
    TX_PENDING = "chain.tx_pending"
    TX_MEMPOOL = "chain.tx_mempool"
    TX_CONFIRMING = "chain.tx_confirming"
    TX_CONFIRMED = "chain.tx_confirmed"
    TX_CONFLICTED = "chain.tx_conflicted"
    TX_REPLACED = "chain.tx_replaced"
    TX_DROPPED = "chain.tx_dropped"
    TX_REORGED = "chain.tx_reorged"
    REORG = "chain.reorg"
    COINS_SPENT = "chain.coins_spent"
    BREAKER_TRIPPED = "chain.breaker_tripped"
    BREAKER_CLEARED = "chain.breaker_cleared"

    @classmethod
    def for_state(cls, state: TxState) -> "ChainAction":
        return cls[f"TX_{TxState(state).name}"]
