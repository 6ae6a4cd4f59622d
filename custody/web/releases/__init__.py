"""The court-ordered release pages (see custody/web/urls.py): legal officers record a
release order and a second one approves it; bank officers then propose its transfer."""

from core.web import registry

from .home import NAV


def register_pages() -> None:
    """Navigation and home-page providers of these pages (core.web.registry), called from
    CustodyConfig.ready()."""
    for item in NAV:
        registry.nav(item)
    registry.work("custody.web.releases.home.needs_me_now")
