#!/usr/bin/env bash
# Debian packages some tests need beyond Python, PostgreSQL and Redis:
#   gettext                      the catalogue check runs makemessages (tests/web/test_i18n.py)
#   chromium, fonts-dejavu-core  the browser journeys (tests/web/test_browser_journeys.py);
#                                Playwright drives the system's Chromium, it downloads none;
#                                DejaVu is also the PDF reports' font (Kazakh, Russian letters)
#   libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0  WeasyPrint's text layout and
#                                font subsetting for the PDF reports
# Installs what is missing when it can (root and apt-get); otherwise it says what to install,
# and the tests that need it skip (or fail under CI=true).
set -uo pipefail
want=()
command -v xgettext >/dev/null && command -v msgmerge >/dev/null || want+=(gettext)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || want+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || want+=(fonts-dejavu-core)
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so.0 ' || want+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0 ' || want+=(libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so.0 ' || want+=(libharfbuzz-subset0)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "qazyna: installing ${want[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${want[@]}" >/dev/null; } \
        || echo "qazyna: could not install ${want[*]}" >&2
else
    echo "qazyna: missing ${want[*]} (apt-get install ${want[*]}): the tests that need it" \
         "skip, or fail under CI=true" >&2
fi
exit 0
