"""Scenario helpers for the chain tests."""

import time

from chain.adapter import address_from_script
from intake.services import asset_add, sweep_record
from tests.support.factories import CaseFactory


def make_asset(*, agency, clerk, declared_sats):
    """A draft case of the agency with one BTC asset: its custody address is allocated."""
    case = CaseFactory(agency=agency, filed_by=clerk)
    asset = asset_add(case=case, actor=clerk, asset="BTC", network="regtest",
                      declared_amount=declared_sats)
    case.refresh_from_db()
    return case, asset


def fund_and_record(*, devchain, asset, clerk, sats=None):
    txid = devchain.fund(asset.custody_address, sats or asset.declared_amount)
    sweep_record(asset=asset, actor=clerk, txid=txid)
    return txid


def output_index(devchain, txid, address):
    raw = devchain.rpc("getrawtransaction", txid, 1)
    for out in raw["vout"]:
        if address_from_script(out["scriptPubKey"]["hex"], "regtest") == address:
            return out["n"], int(out["value"] * 100_000_000)
    raise AssertionError(f"{txid} pays nothing to {address}")


def script_of(devchain, address):
    return devchain.rpc("validateaddress", address)["scriptPubKey"]


def wait_for(predicate, *, timeout=30.0, interval=0.3, drive=None, message="condition"):
    """Poll the database (predicate) until true or the deadline; drive() is called on
    each round (e.g. to send the beat tasks). Returns the predicate's value."""
    deadline = time.monotonic() + timeout
    while True:
        if drive is not None:
            drive()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)
