"""A person following the dashboard: headless chromium on /ui, logged in, live.

    python -m bench.dashboard_browser ADMIN_URL TOKEN_FILE

Debian's chromium driven by Playwright (`executable_path`: nothing downloaded), as the
dashboard's own tests run it. It logs in, then leaves the page for about:blank and
prints `left`; SIGUSR1 opens /ui again (the tab keeps the token) and prints `following`
once the page is live, SIGUSR2 leaves it again. While following it prints `redraws N`
every POLL_S: how many times the page has redrawn itself from an event since it opened
(it stamps `data-updated` on <body> at each redraw), so bench/dashboard_cost.py can tell
that the page was receiving updates during a run. It runs until it is terminated. One
browser for the whole benchmark: starting one takes seconds of both cores, which would
come just before every run with a follower.

The browser stands for one on a laptop, not on the gateway's machine, so once the page
is live (before, it could take minutes to log in on a busy machine) every thread of its
processes gets nice 19: `nice -n 19 CMD` does not hold, as chromium sets its processes'
nice itself. Chromium also starts a session of its own, and with the kernel's
autogroups CPU is shared between sessions before nice weighs inside one; giving that
session the autogroup nice 19 as well left the page no CPU at all on this shared VM (it
drew nothing during a run), so the session is left as it is, and bench/dashboard_cost.py
reports the browser's own CPU beside the gateway's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from bench.common import descendants

if TYPE_CHECKING:
    from playwright.sync_api import Page

POLL_S = 0.5
LOWEST = 19
LIVE_TIMEOUT_MS = 60_000
# Counts the page's redraws from here on.
COUNT_REDRAWS = """() => {
    window.gaiaRedraws = 0;
    new MutationObserver(changes => { window.gaiaRedraws += changes.length; })
        .observe(document.body, {attributes: true, attributeFilter: ["data-updated"]});
}"""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# Whether the page should follow the dashboard, as the last signal said.
wanted = {"follow": False}


def _follow(signum: int, frame: FrameType | None) -> None:
    wanted["follow"] = signum == signal.SIGUSR1


def lowest_priority() -> None:
    """Nice 19 for every thread of this process and its descendants (Linux keeps a nice
    per thread); again after each navigation, which may start a renderer process."""
    for pid in [os.getpid(), *(stat.pid for stat in descendants(os.getpid()))]:
        with contextlib.suppress(OSError):  # gone already
            for tid in os.listdir(f"/proc/{pid}/task"):
                os.setpriority(os.PRIO_PROCESS, int(tid), LOWEST)


def open_live(page: Page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.locator("#connection")).to_have_text("live", timeout=LIVE_TIMEOUT_MS)
    page.evaluate(COUNT_REDRAWS)


def follow(admin_url: str, token: str) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed: apt-get install chromium")
    with sync_playwright() as playwright:
        # Chromium refuses to run as root with its sandbox on.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{admin_url}/ui")
            page.fill("#token", token)
            page.click("#login-form button[type=submit]")
            open_live(page, f"{admin_url}/ui/")
            following = True
            while True:
                if following != wanted["follow"]:
                    following = wanted["follow"]
                    if following:
                        open_live(page, f"{admin_url}/ui/")
                    else:
                        page.goto("about:blank")
                    lowest_priority()
                    print("following" if following else "left", flush=True)
                if following:
                    print(f"redraws {page.evaluate('window.gaiaRedraws')}", flush=True)
                page.wait_for_timeout(POLL_S * 1000)
        finally:
            browser.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m bench.dashboard_browser ADMIN_URL TOKEN_FILE", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGUSR1, _follow)
    signal.signal(signal.SIGUSR2, _follow)
    try:
        follow(args[0], Path(args[1]).read_text().strip())
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
