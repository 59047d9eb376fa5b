"""Looking at a page the way the console's users do: at 1280 px and at 390 px, a screenshot
of each to look at, axe-core's accessibility rules (no serious or critical violation), and on
the phone no sideways scroll with every amount and balance column in view."""

from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE

SERIOUS = ("serious", "critical")
_axe = None


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    global _axe
    if _axe is None:
        from axe_playwright_python.sync_playwright import Axe

        _axe = Axe()
    found = _axe.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


def columns_out_of_view(page, width: int) -> list[str]:
    """Headers of numeric columns (amounts, balances) that a phone would have to scroll to."""
    return page.evaluate(
        """(width) => [...document.querySelectorAll('th.num')]
        .filter(th => th.offsetParent !== null && th.getBoundingClientRect().right > width + 1)
        .map(th => th.textContent.trim())""",
        width,
    )


def look(page, name: str, *, phone: bool = True) -> None:
    """Screenshot at 1280 px (and 390 px), each checked by axe; on the phone the page must
    not scroll sideways and its amount and balance columns must be in view."""
    size = page.viewport_size
    for viewport in (DESKTOP, PHONE) if phone else (DESKTOP,):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(50)  # the layout settles at the new width
        suffix = "-phone" if viewport is PHONE else ""
        page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
        violations = axe_violations(page)
        assert violations == [], (name, viewport["width"], page.url, violations)
        if viewport is PHONE:
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= PHONE["width"], (name, "scrolls sideways", scroll)
            assert columns_out_of_view(page, PHONE["width"]) == [], (name, page.url)
    page.set_viewport_size(size)
