"""What the apps above core put into the shared pages, without core importing them.

The base layout and the home page live in core (core.web), the lowest layer; the cases, the
review queue and the reserve live in the apps above. Those apps register, in their
AppConfig.ready(), by dotted path (the shape of chain.registry):

    registry.nav(NavItem(_("Cases"), "intake:case-list", roles={Role.CLERK, ...}))
    registry.work("intake.web.home.needs_me_now")      # the home page's "what needs me now"
    registry.valuer("custody.web.hooks.kzt_value")     # KZT beside BTC, where a price exists
    registry.case_links("custody.web.hooks.case_links") # links on a case's page

A path that cannot be imported fails the system check `core.E101` at start-up (and
`manage.py check` in CI). Providers take the signed-in user and decide nothing about
visibility themselves: they call their app's selectors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core import checks

from core.dotted import check_paths, resolve
from core.roles import has_any_role


@dataclass(frozen=True)
class NavItem:
    """A link in the layout's navigation, shown to people holding one of roles."""

    label: Any  # a lazy translation
    url_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    order: int = 100

    def shown_to(self, user: Any) -> bool:
        return has_any_role(user, self.roles)


@dataclass(frozen=True)
class WorkItem:
    """One line of the home page's "what needs me now": a count of things waiting for this
    person, or an action they start (count None)."""

    label: str
    url: str
    count: int | None = None
    urgent: bool = False  # custody alarms and other things that cannot wait: shown in red
    hint: str = ""


@dataclass(frozen=True)
class KztValue:
    """An amount's value in KZT at a recorded price, with where the price came from."""

    kzt: Decimal
    source: str
    observed_at: Any  # datetime


_nav: list[NavItem] = []
_work: list[str] = []
_valuers: list[str] = []
_case_links: list[str] = []


def nav(item: NavItem) -> None:
    if item not in _nav:
        _nav.append(item)


def work(path: str) -> None:
    if path not in _work:
        _work.append(path)


def valuer(path: str) -> None:
    if path not in _valuers:
        _valuers.append(path)


@dataclass(frozen=True)
class CaseLink:
    """A link on a case's page to another app's page about the case (its release orders,
    its transfers), shown to this person."""

    label: str
    url: str


def case_links(path: str) -> None:
    if path not in _case_links:
        _case_links.append(path)




# --- what the pages ask ----------------------------------------------------------------------
def nav_for(user: Any) -> list[NavItem]:
    return sorted((i for i in _nav if i.shown_to(user)), key=lambda i: (i.order, str(i.label)))


def work_for(user: Any) -> list[WorkItem]:
    items: list[WorkItem] = []
    for path in _work:
        items.extend(resolve(path)(user))
    return items


def value_in_kzt(user: Any, asset: str, amount: int) -> KztValue | None:
    """The first registered valuer's answer, or None (no price, or not for this person)."""
    for path in _valuers:
        found = resolve(path)(user=user, asset=asset, amount=amount)
        if found is not None:
            return found
    return None


def links_for_case(user: Any, case: Any) -> list[CaseLink]:
    links: list[CaseLink] = []
    for path in _case_links:
        links.extend(resolve(path)(user=user, case=case))
    return links


def all_paths() -> Iterable[str]:
    return [*_work, *_valuers, *_case_links]


@checks.register()
def check_providers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return check_paths(all_paths(), what="web provider", check_id="core.E101")
