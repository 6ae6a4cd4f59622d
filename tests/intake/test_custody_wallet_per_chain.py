"""A custody wallet is for one agency, one chain and one network (issue 11 point 7's second
chain): "mainnet" is a network of Bitcoin and of Ethereum alike, so an agency's Ethereum
wallet must neither block its Bitcoin wallet nor be picked for a Bitcoin asset. Filing an
asset allocates the custody address from the wallet of the asset's chain."""

import pytest
from embit.networks import NETWORKS

from core.errors import Conflict
from intake.models import CustodyWallet, SeizedAsset
from intake.services import custody_wallet_register
from tests.support.api import CASE_PAYLOAD, url
from tools.demo_signer import signer_root

pytestmark = pytest.mark.django_db


def mainnet_key(name):
    root = signer_root(name)
    xpub = root.derive("m/48h/0h/0h/2h").to_public().to_base58(
        version=NETWORKS["main"]["xpub"])
    return f"[{root.my_fingerprint.hex()}/48h/0h/0h/2h]{xpub}"


def register_bitcoin_mainnet(admin_user, agency, signers=("c1", "c2", "c3")):
    return custody_wallet_register(actor=admin_user, agency=agency, network="mainnet",
                                   label="AFM bitcoin custody", threshold=2,
                                   keys=[mainnet_key(s) for s in signers])


@pytest.fixture
def ethereum_wallet(agency):
    """The agency's Ethereum mainnet wallet, registered first (the older row)."""
    return CustodyWallet.objects.create(agency=agency, chain="ethereum", network="mainnet",
                                        label="AFM ethereum custody", descriptor="(eth)",
                                        threshold=2, key_count=3)


def test_one_active_wallet_per_agency_chain_and_network(admin_user, agency, ethereum_wallet):
    bitcoin = register_bitcoin_mainnet(admin_user, agency)  # beside the Ethereum one
    assert (bitcoin.chain, bitcoin.network) == ("bitcoin", "mainnet")
    with pytest.raises(Conflict):  # a second active Bitcoin mainnet wallet is not
        register_bitcoin_mainnet(admin_user, agency, signers=("p1", "p2", "p3"))
    assert set(CustodyWallet.objects.filter(agency=agency, is_active=True)
               .values_list("chain", "network")) == {("bitcoin", "mainnet"),
                                                      ("ethereum", "mainnet")}


def test_filing_a_bitcoin_asset_takes_the_bitcoin_wallet(api, clerk, admin_user, agency,
                                                         ethereum_wallet, settings):
    settings.BITCOIN_NETWORK = "mainnet"  # Bitcoin's adapter serves mainnet here
    bitcoin = register_bitcoin_mainnet(admin_user, agency)
    client = api(clerk)
    case = client.post(url(), CASE_PAYLOAD, format="json")
    assert case.status_code == 201, case.json()
    reply = client.post(url(case.json()["id"], sub="assets"),
                        {"asset": "BTC", "network": "mainnet", "declared_amount": 10_000},
                        format="json")
    assert reply.status_code == 201, reply.json()
    asset = SeizedAsset.objects.select_related("case__custody_wallet").get(
        public_id=reply.json()["id"])
    assert asset.case.custody_wallet == bitcoin
    assert asset.custody_address.startswith("bc1q") and asset.chain == "bitcoin"
    ethereum_wallet.refresh_from_db()
    bitcoin.refresh_from_db()
    assert (ethereum_wallet.next_index, bitcoin.next_index) == (0, 1)


def test_a_custody_wallet_for_another_chain_is_not_a_bitcoin_descriptor(admin_user, agency):
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        custody_wallet_register(actor=admin_user, agency=agency, network="mainnet",
                                label="x", threshold=2, chain="ethereum",
                                keys=[mainnet_key(s) for s in ("c1", "c2", "c3")])
