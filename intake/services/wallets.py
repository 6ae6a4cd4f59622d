"""The agencies' custody wallets: watch-only multisig descriptors, one address per case."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from chain import chains
from chain.models import WatchedAddress
from chain.services import watch_address
from core.audit import record_event
from core.bitcoin import MultisigDescriptor, multisig_from, refuse_private_keys
from core.errors import Conflict, ErrorCode, ValidationFailed
from core.models import Agency
from core.roles import Role, require_role

from ..audit import IntakeAction
from ..models import CustodyWallet, SeizureCase


def custody_wallet_register(*, actor: Any, agency: Agency, network: str, label: str,
                            threshold: int | None = None, keys: list[str] | None = None,
                            descriptor: str | None = None,
                            chain: str = chains.BITCOIN) -> CustodyWallet:
    """Register an agency's watch-only custody wallet from xpubs (M-of-N) or a ready
    wsh(sortedmulti(...)) descriptor. Public keys only; any private key is refused. One
    active wallet per agency, chain and network."""
    require_role(actor, Role.ADMIN)
    refuse_private_keys({"label": label})
    if chains.get_chain(chain).name != chains.BITCOIN:
        raise ValidationFailed("A custody wallet's descriptor is a Bitcoin multisig "
                               "descriptor: another chain's custody wallet comes with its "
                               "adapter.", code=ErrorCode.UNKNOWN_CHAIN, field="chain")
    parsed = multisig_from(network=network, descriptor=descriptor, threshold=threshold,
                           keys=keys)
    try:
        with transaction.atomic():
            wallet = CustodyWallet.objects.create(
                agency=agency, chain=chains.BITCOIN, network=network, label=label,
                descriptor=parsed.text,
                threshold=parsed.threshold, key_count=parsed.key_count,
            )
            record_event(actor=actor, action=IntakeAction.CUSTODY_WALLET_REGISTERED,
                         obj=wallet, after={"agency": agency.code, "chain": wallet.chain,
                                            "network": network,
                                            "descriptor": parsed.text, "label": label})
    except IntegrityError:
        raise Conflict("The agency already has an active custody wallet on this chain and "
                       "network.",
                       code=ErrorCode.DUPLICATE) from None
    return wallet


def allocate_custody_address(case: SeizureCase, network: str,
                             chain: str = chains.BITCOIN) -> str:
    """The case's own custody address, at its own index of the agency's wallet for the
    asset's chain and network. Called with the case locked; the wallet row is locked so two
    cases never share an index."""
    if case.custody_address and case.custody_wallet is not None:
        if (case.custody_wallet.chain, case.custody_wallet.network) != (chain, network):
            raise Conflict("This case's custody address is on "
                           f"{case.custody_wallet.chain} {case.custody_wallet.network}, not "
                           f"{chain} {network}.")
        return case.custody_address
    wallet = (CustodyWallet.objects.select_for_update()
              .filter(agency_id=case.agency_id, chain=chain, network=network, is_active=True)
              .first())
    if wallet is None:
        raise Conflict(f"The agency has no active custody wallet on {chain} {network}: an "
                       "admin must register its public descriptor first.",
                       code=ErrorCode.CONFLICT)
    descriptor = MultisigDescriptor(wallet.descriptor, wallet.threshold, wallet.key_count)
    index = wallet.next_index
    case.custody_wallet, case.custody_index = wallet, index
    case.custody_address = descriptor.address_at(index, network)
    wallet.next_index = index + 1
    wallet.save(update_fields=["next_index"])
    case.save(update_fields=["custody_wallet", "custody_index", "custody_address", "updated_at"])
    record_event(actor=None, action=IntakeAction.CUSTODY_ADDRESS_ASSIGNED, obj=case,
                 after={"wallet": str(wallet.public_id), "index": index,
                        "address": case.custody_address})
    # Watched from now on: a spend from it before any verification is still an alarm.
    watch_address(address=case.custody_address, purpose=WatchedAddress.Purpose.CUSTODY,
                  ref=str(case.public_id))
    return case.custody_address
