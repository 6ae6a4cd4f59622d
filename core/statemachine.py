"""State machines as data, and the one helper every app uses to move a row along one.

A table lists commands: from a state, a named command leads to one target state, performed
by the roles named (or only by the system: another service, a watcher). The table is the
whole truth: services perform a command only through `apply_transition`, which asks the
table, and the API's `allowed_transitions` come from `TransitionTable.commands_for`.

A command from a state the table does not list it for is refused with TransitionNotAllowed
(HTTP 409), and changes nothing. That includes a person repeating a command whose target
the row is already in: two officers deciding at once must not both be told they decided
(a client retrying the same request sends the same Idempotency-Key and gets the first
reply replayed). The system is different: a watcher or task that runs twice (they are built
to) finds the row already where its command leads, and that is a no-op (`as_system=True`):
nothing written, no audit event. A command the table lists from a state to itself (a
re-entry, such as a transfer's payload rebuilt) is performed every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from .audit import AuditAction, record_event
from .errors import PermissionRefused, TransitionNotAllowed
from .roles import has_any_role

SYSTEM: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Transition:
    source: str
    command: str
    target: str
    # Roles that may perform it; empty: only the system (a service acting on its own).
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def by_system(self) -> bool:
        return not self.roles


class TransitionTable:
    def __init__(self, entity: str, transitions: Iterable[Transition]):
        self.entity = entity
        self._by_source: dict[str, dict[str, Transition]] = {}
        self._targets: dict[str, set[str]] = {}
        for t in transitions:
            commands = self._by_source.setdefault(str(t.source), {})
            if t.command in commands:
                raise ValueError(f"{entity}: {t.command} twice from {t.source}")
            commands[t.command] = t
            self._targets.setdefault(t.command, set()).add(str(t.target))

    @classmethod
    def from_spec(cls, entity: str,
                  spec: Mapping[str, Mapping[str, tuple[str, Iterable[str]]]]) -> TransitionTable:
        """{state: {command: (target, roles)}}."""
        return cls(entity, [Transition(str(source), command, str(target), frozenset(roles))
                            for source, commands in spec.items()
                            for command, (target, roles) in commands.items()])

    # --- questions ------------------------------------------------------------------------
    def get(self, current: str, command: str) -> Transition | None:
        return self._by_source.get(str(current), {}).get(command)

    def commands(self) -> set[str]:
        return set(self._targets)

    def transitions(self) -> list[Transition]:
        return [t for commands in self._by_source.values() for t in commands.values()]

    def targets_of(self, command: str) -> set[str]:
        return set(self._targets.get(command, ()))

    def commands_for(self, current: str, user: Any = None) -> list[str]:
        """The commands a user may perform from current (all user commands if user is None);
        system-only commands are never offered."""
        found = []
        for command, t in sorted(self._by_source.get(str(current), {}).items()):
            if t.by_system:
                continue
            if user is None or has_any_role(user, t.roles):
                found.append(command)
        return found

    def targets_for(self, current: str, user: Any = None) -> list[str]:
        """The states a user's commands lead to from current: the API's
        `allowed_transitions`."""
        return sorted({self._by_source[str(current)][c].target
                       for c in self.commands_for(current, user)})

    def pairs(self) -> set[tuple[str, str]]:
        return {(t.source, t.target) for t in self.transitions()}

    def resolve(self, current: str, command: str, *,
                repeat_is_noop: bool = False) -> Transition | None:
        """The transition to perform; None for a system repeat (repeat_is_noop and already
        in the command's target); otherwise TransitionNotAllowed."""
        t = self.get(current, command)
        if t is not None:
            return t
        if repeat_is_noop and str(current) in self.targets_of(command):
            return None
        targets = sorted(self.targets_of(command)) or ["?"]
        raise TransitionNotAllowed(entity=self.entity, current=current,
                                   target=targets[0] if len(targets) == 1 else command)


def apply_transition(
    obj: models.Model,
    *,
    table: TransitionTable,
    command: str,
    actor: Any,
    action: AuditAction,
    reason: str = "",
    status_field: str = "status",
    update_fields: Iterable[str] = (),
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    as_system: bool = False,
    on_commit: Callable[[], None] | None = None,
) -> bool:
    """Move obj by command. The caller runs it inside `transaction.atomic()` with obj
    locked (`select_for_update`), after its own checks of who and what. Checks the table
    (409 if refused; the table's roles unless as_system), writes the status and
    update_fields, records the audit event in the same transaction and queues on_commit.
    Returns False when it was a system no-op repeat (see the module docstring)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("apply_transition() must run inside the caller's transaction")
    current = getattr(obj, status_field)
    t = table.resolve(current, command, repeat_is_noop=as_system)
    if t is None:
        return False
    if not as_system:
        if t.by_system:
            raise TransitionNotAllowed(entity=table.entity, current=current, target=t.target)
        if not has_any_role(actor, t.roles):
            raise PermissionRefused(f"This needs the role {' or '.join(sorted(t.roles))}.")
    setattr(obj, status_field, t.target)
    fields = [status_field, *update_fields]
    for name in ("status_changed_at",):
        if hasattr(obj, name):
            setattr(obj, name, timezone.now())
            fields.append(name)
    if hasattr(obj, "status_reason"):
        obj.status_reason = reason or ""
        fields.append("status_reason")
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        fields.append("updated_at")
    obj.save(update_fields=list(dict.fromkeys(fields)))
    record_event(actor=actor, action=action, obj=obj,
                 before={status_field: str(current), **(before or {})},
                 after={status_field: str(t.target), **(after or {})}, reason=reason)
    if on_commit is not None:
        transaction.on_commit(on_commit)
    return True
