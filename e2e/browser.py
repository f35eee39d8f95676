"""A headless Chromium (Debian's ``chromium`` package, never a downloaded build) driven by Playwright.

The machine has no network beyond the deployment: the flags keep Chromium from calling home
(component updates, sync, QUIC probes), which it would otherwise retry for the whole run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = Path(os.environ.get("SFCRM_E2E_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}


@contextlib.contextmanager
def browser_page(base_url: str, profile_dir: Path) -> Iterator:
    """A page logged in to the api-server (Simple Auth Manager, every user an admin)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (make e2e does)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir), executable_path=str(CHROMIUM), args=FLAGS, headless=True, viewport=VIEWPORT
        )
        try:
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{base_url}/auth/token/login?next={base_url}/")
            yield page
        finally:
            context.close()
