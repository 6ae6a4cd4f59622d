"""Writes of the custody side, cut by lifecycle. One action, one function, same shape every
time: transaction → lock the row → ask the command table (core.statemachine, custody's
tables in custody.transitions) → save → audit event in the same transaction → follow-up
work on commit. Chain I/O (custody.chainio) happens before or after the transaction, never
under a row lock.

- wallets: reserve wallets and their quorum policies (four eyes)
- transfers: propose, approve, rebuild, cancel
- signing: signed PSBTs uploaded, the broadcast
- chain_state: what the chain watchers report about a transfer (settle, reorg, conflict)
- ledger: journal entries, never edited (compensating entries instead)
- deposits: coins at a reserve address that no transfer sent
- prices: recorded prices and the valuations made from them
- releases: a court's release order (the one way a non-reserve destination is allowed)
- handovers: assets no adapter moves, handed to the fund's custodian or released, by receipt
- cases: what custody asks of intake (case moves, alerts)
"""

from .chain_state import transfer_apply_chain_state
from .deposits import (
    deposit_apply_chain_state,
    deposit_attribute,
    deposit_attribution_approve,
    deposit_attribution_reject,
    deposit_observe,
    deposit_reappeared,
    deposit_vanished,
    deposits_follow_the_chain,
)
from .handovers import handover_approve, handover_propose, handover_reject
from .prices import price_approve, price_record, value_kzt
from .releases import release_order_approve, release_order_record, release_order_reject
from .signing import BROADCAST_TASK, queue_broadcast, transfer_broadcast, transfer_upload_signed
from .transfers import (
    transfer_approve,
    transfer_cancel,
    transfer_propose,
    transfer_propose_release,
    transfer_rebuild,
    transfers_hold_for_vanished,
)
from .wallets import (
    quorum_policy_approve,
    quorum_policy_propose,
    reserve_wallet_approve,
    reserve_wallet_register,
    reserve_wallet_retire,
)

__all__ = [
    "BROADCAST_TASK",
    "deposit_apply_chain_state",
    "deposit_attribute",
    "deposit_attribution_approve",
    "deposit_attribution_reject",
    "deposit_observe",
    "deposit_reappeared",
    "deposit_vanished",
    "deposits_follow_the_chain",
    "handover_approve",
    "handover_propose",
    "handover_reject",
    "price_approve",
    "price_record",
    "queue_broadcast",
    "quorum_policy_approve",
    "quorum_policy_propose",
    "release_order_approve",
    "release_order_record",
    "release_order_reject",
    "reserve_wallet_approve",
    "reserve_wallet_register",
    "reserve_wallet_retire",
    "transfer_apply_chain_state",
    "transfer_approve",
    "transfer_broadcast",
    "transfer_cancel",
    "transfer_propose",
    "transfer_propose_release",
    "transfer_rebuild",
    "transfer_upload_signed",
    "transfers_hold_for_vanished",
    "value_kzt",
]
