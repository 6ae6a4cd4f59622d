"""The accessibility check shared by the browser tests: axe-core (bundled with
axe-playwright-python, so offline) with the WCAG 2.1 A and AA rules finds no serious or
critical violation, and the page does not scroll sideways at its current width."""

from axe_playwright_python.sync_playwright import Axe

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}
GRAVE = {"serious", "critical"}


def assert_accessible(page, name):
    violations = Axe().run(page, options=WCAG).response["violations"]
    grave = [f"{v['id']} ({v['impact']}): {v['help']} at "
             f"{[n['target'] for n in v['nodes']][:3]}"
             for v in violations if v["impact"] in GRAVE]
    assert grave == [], f"{name}: {grave}"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name}: {overflow} px wider than the window: {too_wide(page)}"


def too_wide(page):
    """The outermost elements reaching past the window's right edge (for the message)."""
    return page.evaluate("""() => {
        const out = [];
        for (const el of document.body.querySelectorAll('*')) {
            if (el.getBoundingClientRect().right <= window.innerWidth + 1) continue;
            if (out.some(o => o.el.contains(el))) continue;
            out.push({el, text: el.tagName.toLowerCase() + (el.className ? '.' +
                String(el.className).split(' ').join('.') : '')});
        }
        return out.slice(0, 5).map(o => o.text);
    }""")
