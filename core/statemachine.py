"""A state machine as data: allowed next states per state."""

from .errors import TransitionNotAllowed


class TransitionTable:
    def __init__(self, entity, table):
        self.entity = entity
        self.table = {state: frozenset(targets) for state, targets in table.items()}

    def allowed(self, current):
        return self.table.get(current, frozenset())

    def can(self, current, target):
        return target in self.allowed(current)

    def check(self, current, target):
        if not self.can(current, target):
            raise TransitionNotAllowed(entity=self.entity, current=current, target=target)

    def pairs(self):
        return {(a, b) for a, targets in self.table.items() for b in targets}
