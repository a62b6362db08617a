"""A real headless browser for the dashboard's tests: Debian's chromium driven by
Playwright, which downloads nothing (`executable_path`)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from playwright.sync_api import Page, expect, sync_playwright

# Figures that are not config changes reach the page with each sample, every 5 s.
expect.set_options(timeout=10_000)

# A laptop's screen.
VIEWPORT = {"width": 1366, "height": 768}
# Set to anything to copy the light screenshot over docs/dashboard.png (the README's).
UPDATE_SCREENSHOT = "GAIA_UPDATE_SCREENSHOT"
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        raise RuntimeError(
            "Debian's chromium is not installed: apt-get install chromium (scripts/test does)"
        )
    return path


@contextlib.contextmanager
def browser_page(
    color_scheme: Literal["light", "dark"] = "light",
) -> Iterator[Page]:
    """A fresh page (its own session storage) that fails the test on a script error."""
    errors: list[str] = []
    with sync_playwright() as playwright:
        # Chromium refuses to run as root (CI) with its sandbox on.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=chromium(), args=args)
        try:
            page = browser.new_page(viewport=VIEWPORT, color_scheme=color_scheme)  # type: ignore[arg-type]
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
        finally:
            browser.close()
    assert not errors, f"the page raised: {errors}"


def keep_screenshot(page: Page, path: Path, *, for_docs: bool = False) -> Path:
    """The whole page as a test artifact; `for_docs`, also docs/dashboard.png when the
    environment asks for it."""
    page.screenshot(path=str(path), full_page=True)
    if for_docs and os.environ.get(UPDATE_SCREENSHOT):
        shutil.copyfile(path, DOCS_SCREENSHOT)
    return path
