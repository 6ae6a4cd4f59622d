"""The bank pages of the reserve (see custody/web/urls.py)."""


def register_pages() -> None:
    """Navigation and home-page providers of these pages (core.web.registry), called from
    CustodyConfig.ready()."""
