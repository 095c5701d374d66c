"""Shared fixtures for the browser tests: Debian's headless Chromium driven by
Playwright, and axe-core (shipped on PyPI by axe-playwright-python) to check pages
against WCAG 2.1 AA. A missing browser or axe fails the tests: it never skips them.

Playwright's sync API runs an event loop in the test thread, so Django's ORM needs
DJANGO_ALLOW_ASYNC_UNSAFE there: it is set while a browser test module runs, and
taken away after (set for the whole session it would leak into the processes other
tests start, and `check --deploy` warns about it). Tests use pytest-django's
live_server and `pytest.mark.django_db(transaction=True)`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE = {"width": 360, "height": 740}
# The rules axe checks: WCAG 2.0 and 2.1, levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_script() -> Path:
    try:
        import axe_playwright_python
    except ImportError:
        pytest.fail("axe-playwright-python is not installed: pip install -e '.[test]'")
    script = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    if not script.exists():
        pytest.fail(f"{script} is missing: reinstall axe-playwright-python")
    return script


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright() -> Iterator[None]:
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if before is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture(scope="module")
def chromium(_orm_beside_playwright: None) -> Iterator[Any]:
    """One headless Chromium for a test module (its event loop ends with it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core on the page; the violations of these impacts, one line each.

    The page's context needs bypass_csp=True, since axe is injected inline.
    """
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in impacts
    ]
