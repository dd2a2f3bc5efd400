"""``syncverify report --pdf``: the HTML reports printed to PDF by headless Chromium.

Chromium is the browser the browser tests already install (scripts/ensure-system-deps); it prints
the page exactly as a reviewer sees it, with the charts drawn (plotly.js is inline, so nothing is
fetched: the print runs with no network). The window is as wide as an A4 page's printable width,
so the charts are laid out at the width they are printed at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from syncverify.errors import SyncverifyError
from syncverify.safefiles import REPORT_MODE

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# A4 (210 mm) minus the 12 mm side margins of the print stylesheet, at 96 px per inch.
PRINT_WIDTH_PX = 703
TIMEOUT_S = 180


def browser() -> str:
    override = os.environ.get("SYNCVERIFY_CHROMIUM")
    for name in ((override,) if override else ()) + BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise SyncverifyError("--pdf needs headless Chromium: install the Debian package chromium "
                          "(scripts/ensure-system-deps), or set SYNCVERIFY_CHROMIUM to its path")


def print_pdf(html: Path, pdf: Path) -> Path:
    """Print ``html`` to ``pdf`` (0640, like every report file)."""
    with tempfile.TemporaryDirectory(prefix="syncverify-pdf-") as profile:
        cmd = [browser(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", f"--user-data-dir={profile}", f"--window-size={PRINT_WIDTH_PX},1200",
               "--run-all-compositor-stages-before-draw", "--virtual-time-budget=15000",
               "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise SyncverifyError(f"chromium could not print {html} to PDF (exit {done.returncode}): "
                              f"{done.stderr.strip().splitlines()[-1:] or ''}")
    pdf.chmod(REPORT_MODE)
    return pdf
