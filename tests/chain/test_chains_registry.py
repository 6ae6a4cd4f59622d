"""The chains an asset can be on, and the adapter per chain (chain.chains): Bitcoin through
the bitcoinlib adapter, Ethereum and Tron known but without an adapter (recorded, handed to
the fund's custodian), anything else refused with a clear error. No test doubles: the real
registry, the real settings, the real API."""

import pytest
from django.core import checks

from chain import chains
from chain.adapter import ChainAdapter
from core.errors import ErrorCode
from intake.models import SeizedAsset
from tests.support.api import CASE_PAYLOAD, url

pytestmark = pytest.mark.django_db


def test_bitcoin_has_the_bitcoinlib_adapter_and_the_others_are_refused_clearly(settings):
    assert isinstance(chains.adapter_for("bitcoin"), ChainAdapter)
    assert chains.tracked_on("bitcoin", settings.BITCOIN_NETWORK, "BTC")
    assert not chains.tracked_on("bitcoin", settings.BITCOIN_NETWORK, "USDT")  # Omni: no

    with pytest.raises(chains.ChainNotSupported) as no_adapter:
        chains.adapter_for("ethereum")
    assert no_adapter.value.code == ErrorCode.UNKNOWN_CHAIN
    assert "No adapter is registered for Ethereum" in no_adapter.value.detail
    assert not chains.tracked_on("ethereum", "mainnet", "ETH")

    with pytest.raises(chains.ChainNotSupported) as unknown:
        chains.adapter_for("solana")
    assert unknown.value.code == ErrorCode.UNKNOWN_CHAIN
    assert unknown.value.detail == "Unknown chain 'solana': Qazyna knows bitcoin, ethereum, tron."


def test_an_asset_on_an_unknown_chain_is_refused_over_the_api(api, clerk):
    case = api(clerk).post(url(), CASE_PAYLOAD, format="json").json()
    for body, field in (
            ({"asset": "USDT", "chain": "solana", "network": "mainnet"}, "chain"),
            ({"asset": "USDT", "network": "solana"}, "network"),  # the chain named as network
            ({"asset": "ETH", "chain": "tron", "network": "mainnet"}, "chain")):
        reply = api(clerk).post(url(case["id"], sub="assets"),
                                {**body, "declared_amount": 5}, format="json")
        assert reply.status_code == 400, reply.json()
        assert reply.json()["code"] == "unknown_chain"
        assert reply.json()["field"] == field
    wrong_network = api(clerk).post(url(case["id"], sub="assets"),
                                    {"asset": "USDT", "chain": "tron", "network": "sepolia",
                                     "declared_amount": 5}, format="json")
    assert (wrong_network.status_code, wrong_network.json()["code"]) == (400, "wrong_network")
    assert not SeizedAsset.objects.exists()


def test_a_second_adapter_is_configuration_not_an_intake_change(settings, api, clerk):
    """Registering an adapter for Ethereum (here bitcoinlib's factory stands in: the seam,
    not a node) makes ETH on the configured network watched; intake is not touched."""
    settings.CHAIN_ADAPTERS = {**settings.CHAIN_ADAPTERS,
                               "ethereum": {"adapter": "chain.adapter.get_adapter",
                                            "network": "sepolia"}}
    assert chains.tracked_on("ethereum", "sepolia", "ETH")
    assert not chains.tracked_on("ethereum", "mainnet", "ETH")
    assert not chains.tracked_on("ethereum", "sepolia", "USDT")
    assert chains.adapter_for("ethereum") is not None
    assert not chains.check_adapters()


def test_the_start_up_check_names_a_wrong_registration(settings):
    settings.CHAIN_ADAPTERS = {"dogecoin": {"adapter": "chain.adapter.get_adapter"},
                               "bitcoin": {"adapter": "chain.nowhere.get_adapter"}}
    ids = sorted(message.id for message in chains.check_adapters())
    assert ids == ["chain.E002", "chain.E003"]
    assert all(isinstance(m, checks.Error) for m in chains.check_adapters())
