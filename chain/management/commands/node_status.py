"""Which node does this configuration talk to, and is it usable? The operator's first
question, answered from the same settings as the web server and the workers: the node's
address (without its password), network, software (Bitcoin Core or the development chain)
and tip. Exit status: 0 usable, 2 misconfigured (wrong password, network, or the development
chain where settings forbid it: fix the configuration, retrying will not help), 3 down."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from chain.adapter import get_adapter, is_devchain
from chain.errors import NodeMisconfigured, NodeUnavailable

EXIT_MISCONFIGURED = 2
EXIT_UNAVAILABLE = 3


def describe(networkinfo: dict, chaininfo: dict) -> str:
    if is_devchain(networkinfo, chaininfo):
        return "the development chain (not a Bitcoin node)"
    return f"Bitcoin node {networkinfo.get('subversion', '?')}"


class Command(BaseCommand):
    help = "Show the node this configuration points at: software, network, tip (JSON line)."

    def handle(self, *args, **options):
        adapter = get_adapter()
        report = {"url": adapter.endpoint.safe_url, "network": adapter.network}
        try:
            tip = adapter.tip()
            networkinfo = adapter.call("getnetworkinfo")
            chaininfo = adapter.call("getblockchaininfo")
        except NodeMisconfigured as exc:
            report.update(ok=False, problem="misconfigured", error=str(exc))
            self.stdout.write(json.dumps(report))
            raise SystemExit(EXIT_MISCONFIGURED) from None
        except NodeUnavailable as exc:
            report.update(ok=False, problem="unavailable", error=str(exc))
            self.stdout.write(json.dumps(report))
            raise SystemExit(EXIT_UNAVAILABLE) from None
        report.update(ok=True, node=describe(networkinfo, chaininfo),
                      devchain=is_devchain(networkinfo, chaininfo),
                      chain=chaininfo.get("chain"), tip_height=tip.height,
                      tip_hash=tip.block_hash)
        self.stdout.write(json.dumps(report))
