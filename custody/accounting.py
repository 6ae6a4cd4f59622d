"""The full accounting of the reserve for a period: opening and closing balances in BTC
(integer sats) and KZT, by source, by case and by wallet, and how they tie out: to the
ledger (every entry balanced; each breakdown sums to the total; opening plus the period's
movements is the closing), and to the node (the closing by wallet against the coins the
chain watchers saw at their last poll, less deposits not yet attributed).

KZT: each balance at the approved price in force at the period's boundary, with the price's
source; no price there is said (None, and the missing boundary named), never a zero."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone

from core.bitcoin import format_btc

from .exporters import proof_of_reserves
from .models import LedgerAccount, LedgerLine, PriceRecord
from .selectors import ledger_is_balanced, price_at
from .services.prices import value_kzt

BREAKDOWNS = (
    ("by_source", "source", "source"),
    ("by_case", "case__case_number", "case"),
    ("by_wallet", "reserve_wallet__label", "wallet"),
)
PERIOD_COLUMNS = ["section", "key", "opening_sats", "opening_btc", "opening_kzt",
                  "movement_sats", "closing_sats", "closing_btc", "closing_kzt"]


def period_bounds(first_day: dt.date, last_day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """From the start of first_day to the start of the day after last_day (local time)."""
    start = timezone.make_aware(dt.datetime.combine(first_day, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(last_day + dt.timedelta(days=1),
                                                  dt.time.min))
    return start, end


def _reserve_lines() -> QuerySet[LedgerLine]:
    return LedgerLine.objects.filter(account=LedgerAccount.RESERVE)


def _sums(qs: QuerySet[LedgerLine], key: str) -> dict[str, int]:
    return {str(row[key] or ""): row["s"] or 0
            for row in qs.values(key).annotate(s=Sum("amount_sats")).order_by(key)}


def _kzt(sats: int, price: PriceRecord | None) -> str | None:
    return str(value_kzt(sats, price)) if price is not None else None


def _price(price: PriceRecord | None) -> dict[str, Any] | None:
    if price is None:
        return None
    return {"id": str(price.public_id), "kzt_per_unit": str(price.kzt_per_unit),
            "source": price.source, "observed_at": price.observed_at.isoformat()}


def period_accounting(*, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """The reserve's accounting for [start, end): see the module docstring."""
    lines = _reserve_lines()
    before, until = (lines.filter(entry__created_at__lt=start),
                     lines.filter(entry__created_at__lt=end))
    opening_price, closing_price = price_at("BTC", start), price_at("BTC", end)
    report: dict[str, Any] = {
        "start": start.isoformat(), "end": end.isoformat(),
        "opening_price": _price(opening_price), "closing_price": _price(closing_price),
    }
    totals = {"opening_sats": before.aggregate(s=Sum("amount_sats"))["s"] or 0,
              "closing_sats": until.aggregate(s=Sum("amount_sats"))["s"] or 0}
    movement = (lines.filter(entry__created_at__gte=start, entry__created_at__lt=end)
                .aggregate(s=Sum("amount_sats"))["s"] or 0)
    report["total"] = _row(totals["opening_sats"], totals["closing_sats"], opening_price,
                           closing_price)
    sums_match = True
    for name, key, _label in BREAKDOWNS:
        opening, closing = _sums(before, key), _sums(until, key)
        rows = {k: _row(opening.get(k, 0), closing.get(k, 0), opening_price, closing_price)
                for k in sorted(set(opening) | set(closing))}
        report[name] = rows
        sums_match &= (sum(r["opening_sats"] for r in rows.values()) == totals["opening_sats"]
                       and sum(r["closing_sats"] for r in rows.values())
                       == totals["closing_sats"])
    report["ties_out"] = {
        "entries_balanced": ledger_is_balanced(),
        "breakdowns_sum_to_total": sums_match,
        "opening_plus_movements_is_closing":
            totals["opening_sats"] + movement == totals["closing_sats"],
        "node": _node_tie(end),
        "missing_prices": [b for b, p in (("opening", opening_price),
                                          ("closing", closing_price)) if p is None],
    }
    return report


def _row(opening: int, closing: int, opening_price: PriceRecord | None,
         closing_price: PriceRecord | None) -> dict[str, Any]:
    return {"opening_sats": opening, "opening_btc": format_btc(opening),
            "opening_kzt": _kzt(opening, opening_price),
            "movement_sats": closing - opening,
            "closing_sats": closing, "closing_btc": format_btc(closing),
            "closing_kzt": _kzt(closing, closing_price)}


def _node_tie(end: dt.datetime) -> dict[str, Any] | None:
    """The closing by wallet against the node as of the watchers' last poll (when the period
    ends after it: an earlier closing has no node figure to meet). The same figures proof
    of reserves states."""
    proof = proof_of_reserves()["wallets"]
    polled = proof[0]["checked_at"] if proof else None
    if polled is None or dt.datetime.fromisoformat(polled) > end:
        return None
    wallets = []
    for wallet in proof:
        closing = (_reserve_lines().filter(reserve_wallet__public_id=wallet["wallet"],
                                           entry__created_at__lt=end)
                   .aggregate(s=Sum("amount_sats"))["s"] or 0)
        booked_on_node = wallet["node_sats"] - wallet["unattributed_sats"]
        wallets.append({"wallet": wallet["wallet"], "label": wallet["label"],
                        "closing_sats": closing, "node_sats": wallet["node_sats"],
                        "unattributed_sats": wallet["unattributed_sats"],
                        "difference_sats": booked_on_node - closing})
    return {"tip_height": proof[0]["tip_height"], "tip_hash": proof[0]["tip_hash"],
            "checked_at": polled, "wallets": wallets,
            "ties": all(w["difference_sats"] == 0 for w in wallets)}


def period_rows(report: dict[str, Any]) -> Iterator[list[Any]]:
    """The report as CSV rows: header, the total, then each breakdown."""
    yield PERIOD_COLUMNS

    def line(section: str, key: str, row: dict[str, Any]) -> list[Any]:
        return [section, key, row["opening_sats"], row["opening_btc"], row["opening_kzt"] or "",
                row["movement_sats"], row["closing_sats"], row["closing_btc"],
                row["closing_kzt"] or ""]

    yield line("total", "", report["total"])
    for name, _key, _label in BREAKDOWNS:
        for key, row in report[name].items():
            yield line(name, key, row)

