"""The agencies' custody wallets: watch-only multisig descriptors, one address per case."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, connection, transaction

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


def take_custody_index(*, agency_id: int, network: str,
                       chain: str = chains.BITCOIN) -> tuple[CustodyWallet, int]:
    """The agency's active custody wallet on chain and network and the next index of it,
    taken by one UPDATE … RETURNING (no SELECT … FOR UPDATE before it). The increment
    commits or rolls back with the caller's transaction, so a refused filing leaves no gap
    in the indexes, and two transactions never take the same index: the second waits at
    this statement until the first commits, then reads the incremented row. That row lock
    lasts from this statement to the commit, so callers take it as late in their
    transaction as they can (case_file: after every check, before the inserts that need
    the address)."""
    table = connection.ops.quote_name(CustodyWallet._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_index = next_index + 1 "  # noqa: S608 - our table name
            "WHERE agency_id = %s AND chain = %s AND network = %s AND is_active = %s "
            "RETURNING id, public_id, chain, network, descriptor, threshold, key_count, "
            "next_index",
            [agency_id, chain, network, True])
        row = cursor.fetchone()
    if row is None:
        raise Conflict(f"The agency has no active custody wallet on {chain} {network}: an "
                       "admin must register its public descriptor first.",
                       code=ErrorCode.CONFLICT)
    pk, public_id, chain, network, descriptor, threshold, key_count, next_index = row
    # An instance of the fields read (the others deferred), as a queryset would build it.
    wallet = CustodyWallet.from_db(connection.alias, _TAKEN_FIELDS, [
        pk, public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id)),
        agency_id, chain, network, descriptor, threshold, key_count, next_index])
    return wallet, next_index - 1


# CustodyWallet's concrete fields read by take_custody_index, in the model's order.
_TAKEN_FIELDS = ["id", "public_id", "agency_id", "chain", "network", "descriptor",
                 "threshold", "key_count", "next_index"]


def assign_custody_address(case: SeizureCase, network: str,
                           chain: str = chains.BITCOIN) -> str:
    """Give a case without one its custody address: the next index of the agency's wallet
    (take_custody_index), the address derived there, set on the case (the caller saves it),
    the assignment audited and the address watched from now on."""
    wallet, index = take_custody_index(agency_id=case.agency_id, network=network, chain=chain)
    descriptor = MultisigDescriptor(wallet.descriptor, wallet.threshold, wallet.key_count)
    case.custody_wallet, case.custody_index = wallet, index
    case.custody_address = descriptor.address_at(index, network)
    record_event(actor=None, action=IntakeAction.CUSTODY_ADDRESS_ASSIGNED, obj=case,
                 after={"wallet": str(wallet.public_id), "index": index,
                        "address": case.custody_address})
    # Watched from now on: a spend from it before any verification is still an alarm.
    watch_address(address=case.custody_address, purpose=WatchedAddress.Purpose.CUSTODY,
                  ref=str(case.public_id))
    return case.custody_address


def refuse_other_custody_network(case: SeizureCase, network: str,
                                 chain: str = chains.BITCOIN) -> None:
    """A case has one custody address, on its wallet's chain and network."""
    wallet = case.custody_wallet
    if wallet is not None and (wallet.chain, wallet.network) != (chain, network):
        raise Conflict(f"This case's custody address is on {wallet.chain} {wallet.network}, "
                       f"not {chain} {network}.")


def allocate_custody_address(case: SeizureCase, network: str,
                             chain: str = chains.BITCOIN) -> str:
    """The case's own custody address, at its own index of the agency's wallet for the
    asset's chain and network. Called with the case locked, inside the transaction that adds
    the asset needing it."""
    if case.custody_address and case.custody_wallet_id is not None:
        refuse_other_custody_network(case, network, chain)
        return case.custody_address
    assign_custody_address(case, network, chain)
    case.save(update_fields=["custody_wallet", "custody_index", "custody_address", "updated_at"])
    return case.custody_address
