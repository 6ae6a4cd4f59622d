"""Writes of the custody side."""

from django.db import IntegrityError, transaction

from core.audit import record_event
from core.errors import Conflict, ErrorCode, PermissionRefused
from core.roles import Role
from intake.selectors import roles_of

from .bitcoin import build_multisig_descriptor, parse_multisig_descriptor, refuse_private_keys
from .models import CustodyWallet


def custody_wallet_register(*, actor, agency, network, label, threshold=None, keys=None,
                            descriptor=None):
    """Register an agency's watch-only custody wallet from xpubs (M-of-N) or a ready
    wsh(sortedmulti(...)) descriptor. Public keys only; any private key is refused."""
    if not (actor.is_superuser or Role.ADMIN in roles_of(actor)):
        raise PermissionRefused("Only admins register custody wallets.")
    refuse_private_keys({"label": label, "keys": keys or [], "descriptor": descriptor or ""})
    if descriptor:
        parsed = parse_multisig_descriptor(descriptor, network)
    else:
        parsed = build_multisig_descriptor(threshold=threshold, keys=keys or [], network=network)
    try:
        with transaction.atomic():
            wallet = CustodyWallet.objects.create(
                agency=agency, network=network, label=label, descriptor=parsed.text,
                threshold=parsed.threshold, key_count=parsed.key_count,
            )
            record_event(actor=actor, action="custody_wallet.registered", obj=wallet,
                         after={"agency": agency.code, "network": network,
                                "descriptor": parsed.text, "label": label})
    except IntegrityError:
        raise Conflict("The agency already has an active custody wallet on this network.",
                       code=ErrorCode.DUPLICATE) from None
    return wallet
