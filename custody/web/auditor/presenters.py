"""What the auditor pages and reports show, gathered once, in the reader's language: the
reserve's holdings as chart data, the labels of the ledger's words. Every figure comes from
custody.selectors / custody.exporters / core.audit; nothing here decides anything."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.web import charts

from ... import selectors
from ...models import Deposit, FundSource, JournalEntry, LedgerAccount, TransferStatus, Valuation

SOURCE_LABELS: dict[str, Any] = {
    FundSource.SEIZURE: _("Confiscated in criminal cases"),
    FundSource.STATE_MINING: _("State mining"),
    FundSource.OTHER: _("Other sources"),
}
ACCOUNT_LABELS: dict[str, Any] = {
    LedgerAccount.RESERVE: _("Reserve wallet holdings"),
    LedgerAccount.CUSTODY: _("Case custody"),
    LedgerAccount.NETWORK_FEES: _("Network fees paid"),
    LedgerAccount.EXTERNAL: _("External source"),
    LedgerAccount.RELEASED: _("Released by court order"),
    LedgerAccount.CUSTODIAN: _("Held by the fund's custodian"),
}
ENTRY_LABELS: dict[str, Any] = {
    JournalEntry.Kind.TRANSFER_SETTLED: _("Transfer settled"),
    JournalEntry.Kind.TRANSFER_REVERSED: _("Transfer reversed (reorganisation)"),
    JournalEntry.Kind.DEPOSIT_ATTRIBUTED: _("Deposit attributed"),
    JournalEntry.Kind.DEPOSIT_REVERSED: _("Deposit reversed (reorganisation)"),
    JournalEntry.Kind.RELEASE_SETTLED: _("Release settled"),
    JournalEntry.Kind.RELEASE_REVERSED: _("Release reversed (reorganisation)"),
    JournalEntry.Kind.HANDED_OVER: _("Handed over (receipt)"),
}
POINT_LABELS: dict[str, Any] = {
    Valuation.Point.SEIZURE: _("At seizure"),
    Valuation.Point.CONFISCATION: _("At confiscation"),
    Valuation.Point.SETTLEMENT: _("At reserve entry"),
}
TRANSFER_STATUS_LABELS: dict[str, Any] = {
    TransferStatus.PROPOSED: _("Proposed"),
    TransferStatus.APPROVED: _("Approved"),
    TransferStatus.SIGNING: _("Signing"),
    TransferStatus.BROADCAST: _("Broadcast"),
    TransferStatus.CONFIRMING: _("Confirming"),
    TransferStatus.SETTLED: _("Settled"),
    TransferStatus.CANCELLED: _("Cancelled"),
    TransferStatus.FAILED: _("Failed (rejected by the node)"),
    TransferStatus.REPLACED: _("Replaced"),
    TransferStatus.CONFLICTED: _("Conflicted"),
}
DEPOSIT_STATUS_LABELS: dict[str, Any] = {
    Deposit.Status.UNATTRIBUTED: _("Waiting for attribution"),
    Deposit.Status.PROPOSED: _("Attribution proposed"),
    Deposit.Status.ATTRIBUTED: _("Attributed"),
    Deposit.Status.REVERSED: _("Reversed by a reorganisation"),
    Deposit.Status.DROPPED: _("Dropped from the mempool, never mined"),
    Deposit.Status.REPLACED: _("Replaced in the mempool by another transaction"),
    Deposit.Status.CONFLICTED: _("Double-spent by a mined transaction"),
}
NO_AGENCY = _("No case (state mining, other deposits)")


def label(table: dict[str, Any], value: str) -> str:
    return str(table.get(value, value))


def holdings() -> dict[str, Any]:
    """The reserve's holdings, each cut as a list of (label, sats) and as a chart."""
    totals = selectors.balances()
    by_source = [(label(SOURCE_LABELS, k), v) for k, v in totals["by_source"].items()]
    by_wallet = [(row["label"], row["sats"]) for row in totals["by_wallet"].values()]
    by_case = [(row["case_number"], row["sats"]) for row in totals["by_case"].values()]
    by_agency = [(row["name"] or str(NO_AGENCY), row["sats"])
                 for row in selectors.holdings_by_agency()]
    return {
        "total_sats": totals["total_sats"],
        "by_source": by_source, "by_wallet": by_wallet, "by_case": by_case,
        "by_agency": by_agency,
        "charts": {
            "over_time": charts.line_chart(str(_("Reserve holdings over time")),
                                           selectors.holdings_over_time()),
            "by_source": charts.bar_chart(str(_("Holdings by source")), by_source),
            "by_wallet": charts.bar_chart(str(_("Holdings by reserve wallet")), by_wallet),
            "by_agency": charts.bar_chart(str(_("Holdings by agency of the case")), by_agency),
        },
        "balanced": selectors.ledger_is_balanced(),
    }
