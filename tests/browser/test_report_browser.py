"""Both monthly reports in headless Chromium: no failed or external request, Chinese renders, A4 print.

Chromium is driven over the DevTools protocol (a websocket; ``websockets`` comes with Airflow),
so no Selenium is needed. For each report the test records every network request, every failed
load, console errors and exceptions; asks the renderer which platform fonts drew the Chinese
heading (a CJK font with glyphs, i.e. no tofu boxes); prints the page to an A4 PDF (the print
stylesheet puts sections on their own pages); and saves a full-page screenshot under the pytest
tmp dir (its path is printed).
"""

from __future__ import annotations

import base64
import importlib.util
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from service_support import service_unavailable

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve()
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")


def _load_month_builder() -> Any:
    """The realistic month of the unit test (one builder for both tests)."""
    path = HERE.parents[1] / "unit" / "test_report_month.py"
    spec = importlib.util.spec_from_file_location("report_month_builder", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _chromium() -> str:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    service_unavailable("Chromium (Debian package chromium)", "no chromium binary on PATH")
    raise AssertionError("unreachable")


class DevTools:
    """A minimal DevTools-protocol client over one page session (flattened target)."""

    def __init__(self, ws_url: str) -> None:
        try:
            from websockets.sync.client import connect
        except ImportError as exc:  # installed with Airflow; without it the browser cannot be driven
            service_unavailable("websockets (DevTools client)", exc)
        self.ws = connect(ws_url, max_size=None, open_timeout=20)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False, timeout: float = 60
    ) -> dict[str, Any]:
        msg_id = next(self.ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if self.session and not browser:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv(timeout=timeout))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for i, event in enumerate(self.events):
            if event["method"] == method:
                return self.events.pop(i)
        while True:
            event = json.loads(self.ws.recv(timeout=timeout))
            if event.get("method") == method:
                return event
            if "method" in event:
                self.events.append(event)

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Any:
    binary = _chromium()
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-extensions",
            "--disable-default-apps",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "--window-size=1280,2000",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ws_url = None
    assert proc.stderr is not None
    for line in proc.stderr:
        m = re.search(r"DevTools listening on (ws://\S+)", line)
        if m:
            ws_url = m.group(1)
            break
    if ws_url is None:
        proc.kill()
        service_unavailable("Chromium DevTools", "chromium exited before it listened")
    try:
        yield ws_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from syncverify.report import write_reports

    builder = _load_month_builder()
    month = builder.build_month(tmp_path_factory.mktemp("browser-month"))
    write_reports(month.store, builder.MONTH, month.out, month.catalog, lang="zh", as_of=builder.AS_OF)
    return month.out


def _open(ws_url: str, url: str) -> tuple[DevTools, dict[str, Any]]:
    dt = DevTools(ws_url)
    target = dt.call("Target.createTarget", {"url": "about:blank"}, browser=True)
    attached = dt.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True)
    dt.session = attached["sessionId"]
    for domain in ("Network", "Page", "Runtime", "Log", "DOM", "CSS"):
        dt.call(f"{domain}.enable")
    dt.call("Page.navigate", {"url": url})
    dt.wait_for("Page.loadEventFired")
    dt.call("Runtime.evaluate", {"expression": "document.fonts.ready.then(() => true)", "awaitPromise": True})
    return dt, target


@pytest.mark.parametrize("name", ["consistency.html", "synclog.html", "index.html"])
def test_report_in_chromium(chromium: str, reports: Path, name: str, tmp_path: Path) -> None:
    path = reports / name if name == "index.html" else reports / "2026-10" / name
    url = path.resolve().as_uri()
    dt, target = _open(chromium, url)
    try:
        # 1. Chinese text: the heading is drawn with a CJK font that has the glyphs (no tofu).
        doc = dt.call("DOM.getDocument")
        h1 = dt.call("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": "h1"})
        fonts = dt.call("CSS.getPlatformFontsForNode", {"nodeId": h1["nodeId"]})["fonts"]
        cjk = [f for f in fonts if "CJK" in f["familyName"] or "Han" in f["familyName"]]
        assert cjk and sum(f["glyphCount"] for f in cjk) >= 4, fonts
        check = dt.call(
            "Runtime.evaluate",
            {
                "expression": "document.fonts.check('16px \"Noto Sans CJK SC\"', '数据一致性验证月报')",
                "returnByValue": True,
            },
        )
        assert check["result"]["value"] is True
        heading = dt.call(
            "Runtime.evaluate",
            {"expression": "document.querySelector('h1').innerText", "returnByValue": True},
        )["result"]["value"]
        assert re.search(r"[\u4e00-\u9fff]{4}", heading), heading

        # 2. Screenshot of the whole page.
        metrics = dt.call("Page.getLayoutMetrics")
        height = int(metrics["cssContentSize"]["height"])
        dt.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": min(height, 16000), "deviceScaleFactor": 1, "mobile": False},
        )
        shot = dt.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        png = tmp_path / f"{path.stem}.png"
        png.write_bytes(base64.b64decode(shot["data"]))
        print(f"screenshot: {png}")
        assert png.stat().st_size > 20_000

        # 3. Printable to A4: the print stylesheet breaks sections onto their own pages.
        pdf = base64.b64decode(
            dt.call(
                "Page.printToPDF",
                {
                    "paperWidth": 8.27,
                    "paperHeight": 11.69,
                    "printBackground": True,
                    "preferCSSPageSize": True,
                },
            )["data"]
        )
        (tmp_path / f"{path.stem}.pdf").write_bytes(pdf)
        # ... and nothing is wider than the A4 text width (210 mm - 2 x 12 mm at 96 dpi = 703 px)
        dt.call("Emulation.setEmulatedMedia", {"media": "print"})
        dt.call(
            "Emulation.setDeviceMetricsOverride", {"width": 703, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
        )
        width = dt.call("Runtime.evaluate", {"expression": "document.documentElement.scrollWidth", "returnByValue": True})[
            "result"
        ]["value"]
        assert width <= 703, f"{name} is {width}px wide in print: a table would be cut at the A4 margin"
        sections = dt.call(
            "Runtime.evaluate",
            {"expression": "document.querySelectorAll('section').length", "returnByValue": True},
        )["result"]["value"]
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert pdf.startswith(b"%PDF") and pages >= sections, (pages, sections)

        # 4. Nothing but the file itself was requested, nothing failed, no script error.
        dt.call("Runtime.evaluate", {"expression": "1"})  # drain pending events
        requests = [e["params"]["request"]["url"] for e in dt.events if e["method"] == "Network.requestWillBeSent"]
        failed = [e["params"] for e in dt.events if e["method"] == "Network.loadingFailed"]
        errors = [
            e["params"]
            for e in dt.events
            if e["method"] in {"Runtime.exceptionThrown"}
            or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
        ]
        assert requests == [url], requests
        assert not failed and not errors, (failed, errors)
        html = path.read_text(encoding="utf-8")
        assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html.replace(url, ""))
        assert "<script" not in html and "@import" not in html and "url(" not in html
    finally:
        dt.call("Target.closeTarget", {"targetId": target["targetId"]}, browser=True)
        dt.close()
