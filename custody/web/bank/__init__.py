"""The bank pages of the reserve (see custody/web/urls.py)."""

from core.web import registry

from .home import NAV


def register_pages() -> None:
    """Navigation and home-page providers of these pages (core.web.registry), called from
    CustodyConfig.ready()."""
    for item in NAV:
        registry.nav(item)
    registry.work("custody.web.bank.home.needs_me_now")
    registry.work("custody.web.bank.home.handovers_needing_me")
