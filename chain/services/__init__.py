"""Every write of the chain watchers, cut by what it is about; the public names are here.
No network I/O happens in these modules: callers (chain.watcher, chain.tasks, the apps
above) ask the node first and pass what it said."""

from .breaker import breaker_clear, breaker_trip, record_poll_error, settlement_paused
from .poll import apply_poll
from .tracking import SpentElsewhere, settlement_confirmations, tx_apply_status
from .watching import learn_inputs, record_outputs, watch_address, watch_transaction

__all__ = [
    "SpentElsewhere", "apply_poll", "breaker_clear", "breaker_trip", "learn_inputs",
    "record_outputs", "record_poll_error",
    "settlement_confirmations", "settlement_paused", "tx_apply_status", "watch_address",
    "watch_transaction",
]
