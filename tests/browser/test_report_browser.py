"""Both monthly reports in headless Chromium: no failed or external request, Chinese renders, A4 print.

Chromium is driven over the DevTools protocol (a websocket; ``websockets`` comes with Airflow),
so no Selenium is needed. For each report the test records every network request, every failed
load, console errors and exceptions; asks the renderer which platform fonts drew the Chinese
heading (a CJK font with glyphs, i.e. no tofu boxes); prints the page to an A4 PDF; and saves a
full-page screenshot under the pytest tmp dir (its path is printed).

The reviewer's checks (issue 22): with the network disabled the charts draw and answer hover,
zoom and legend clicks; no element runs out of its box (chart legends included); every series of
a chart has its own colour; every table-of-contents anchor resolves; and ``report --pdf`` prints
the expected number of pages, none of them left mostly blank by a forced break (pdftoppm renders
each page and the test looks at its pixels).
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
def reports(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both reports of the realistic month, and their PDFs as `syncverify report --pdf` prints them
    (after ``chromium``: without a browser the test is reported unavailable, never half run)."""
    from syncverify.report import write_reports

    builder = _load_month_builder()
    month = builder.build_month(tmp_path_factory.mktemp("browser-month"))
    write_reports(month.store, builder.MONTH, month.out, month.catalog, lang="zh", as_of=builder.AS_OF, pdf=True)
    return month.out


def _open(ws_url: str, url: str, *, offline: bool = False) -> tuple[DevTools, dict[str, Any]]:
    dt = DevTools(ws_url)
    target = dt.call("Target.createTarget", {"url": "about:blank"}, browser=True)
    attached = dt.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, browser=True)
    dt.session = attached["sessionId"]
    for domain in ("Network", "Page", "Runtime", "Log", "DOM", "CSS"):
        dt.call(f"{domain}.enable")
    if offline:   # the bureau's closed network: nothing but the file itself can load
        dt.call("Network.emulateNetworkConditions",
                {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
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

        # 3. Printable to A4.
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
        # (the charts follow the window's width once their debounced resize has run)
        width = _eval(dt, "new Promise(ok => setTimeout(() => ok(document.documentElement.scrollWidth), 1000))",
                      await_promise=True)
        assert width <= 703, f"{name} is {width}px wide in print: a table would be cut at the A4 margin"
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert pdf.startswith(b"%PDF") and pages >= 1

        # 4. Nothing but the file itself was requested, nothing failed, no script error.
        dt.call("Runtime.evaluate", {"expression": "1"})  # drain pending events
        # (a data: URL is the page's own bytes — plotly draws a heat map's cells as one inline image)
        requests = [e["params"]["request"]["url"] for e in dt.events if e["method"] == "Network.requestWillBeSent"
                    and not e["params"]["request"]["url"].startswith("data:")]
        failed = [e["params"] for e in dt.events if e["method"] == "Network.loadingFailed"]
        errors = [
            e["params"]
            for e in dt.events
            if e["method"] in {"Runtime.exceptionThrown"}
            or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
        ]
        assert requests == [url], requests
        assert not failed and not errors, (failed, errors)
        from syncverify.report.charts import DRAW_JS, plotly_js

        # the only code is plotly.js (as its wheel ships it) and the drawing script, both inline
        library = plotly_js().replace("</script", "<\\/script")
        html = path.read_text(encoding="utf-8").replace(f"<script>{library}</script>\n<script>{DRAW_JS}</script>", "")
        assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html.replace(url, ""))
        assert "<script" not in html and "@import" not in html and "url(" not in html
    finally:
        dt.call("Target.closeTarget", {"targetId": target["targetId"]}, browser=True)
        dt.close()


# ---- what the reviewer checks (issue 22) ----------------------------------------------------------------

CHART_STATE = """
(() => {
  const out = [];
  document.querySelectorAll('div.plot').forEach(el => {
    const box = el.closest('.chartbox').getBoundingClientRect();
    const inside = r => r.width === 0 || (r.left >= box.left - 1 && r.right <= box.right + 1
                                          && r.top >= box.top - 1 && r.bottom <= box.bottom + 1);
    const parts = ['svg.main-svg', 'g.legend', 'g.infolayer', 'g.xtick', 'g.ytick', 'g.g-gtitle', 'g.colorbar'];
    const outside = [];
    parts.forEach(sel => el.querySelectorAll(sel).forEach(n => {
      if (!inside(n.getBoundingClientRect())) outside.push(sel);
    }));
    const data = el._fullData || [];
    const colours = data.filter(d => d.visible !== false && d.type !== 'heatmap')
                        .map(d => (d.type === 'bar' ? d.marker.color : d.line.color));
    out.push({id: el.id, drawn: el.classList.contains('js-plotly-plot') && !!el.querySelector('svg.main-svg'),
              traces: data.length, colours: colours, outside: outside,
              legendItems: el.querySelectorAll('g.legend g.traces').length,
              showlegend: !!(el._fullLayout && el._fullLayout.showlegend),
              dragmode: el._fullLayout ? el._fullLayout.dragmode : null});
  });
  return out;
})()
"""

OVERFLOW = """
(() => {
  const bad = [];
  document.querySelectorAll('section, .chartbox, .card, header.report').forEach(el => {
    if (el.scrollWidth > el.clientWidth + 1) bad.push((el.id || el.className) + ' ' + el.scrollWidth + '>' + el.clientWidth);
  });
  return bad;
})()
"""


def _eval(dt: DevTools, expression: str, *, await_promise: bool = False) -> Any:
    reply = dt.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": await_promise})
    assert "exceptionDetails" not in reply, reply
    return reply["result"]["value"]


@pytest.mark.parametrize("name", ["consistency.html", "synclog.html"])
def test_charts_offline_interactive_and_inside_their_boxes(chromium: str, reports: Path, name: str) -> None:
    url = (reports / "2026-10" / name).resolve().as_uri()
    dt, target = _open(chromium, url, offline=True)
    try:
        charts = _eval(dt, CHART_STATE)
        assert len(charts) >= 3, charts
        for c in charts:
            assert c["drawn"], f"{c['id']} was not drawn with the network disabled"
            assert not c["outside"], f"{c['id']}: {c['outside']} run out of the chart's box"
            assert len(c["colours"]) == len(set(c["colours"])), f"{c['id']} reuses a colour: {c['colours']}"
            if c["showlegend"]:      # every series is in the legend (none cut off)
                assert c["legendItems"] == c["traces"], c
            assert c["dragmode"] == "zoom", c
        assert not _eval(dt, OVERFLOW)
        # the charts' own colours per link: small multiples give each link one colour of its own
        if name == "synclog.html":
            lat = [c for c in charts if c["id"].startswith("chart-lat-")]
            assert len(lat) >= 2 and len({c["colours"][0] for c in lat}) == len(lat)
        # interaction: hover shows the value, a legend click hides its series, a zoom narrows the axis
        first = next(c["id"] for c in charts if c["traces"] >= 2 and c["showlegend"])
        hovered = _eval(dt, f"""(() => {{ const gd = document.getElementById('{first}');
            Plotly.Fx.hover(gd, [{{curveNumber: 0, pointNumber: 0}}]);
            return gd.querySelectorAll('g.hoverlayer text').length; }})()""")
        assert hovered > 0
        hidden = _eval(dt, f"""(() => {{ const gd = document.getElementById('{first}');
            const item = gd.querySelector('g.legend g.traces rect.legendtoggle');
            const r = item.getBoundingClientRect();
            ['mousedown', 'mouseup', 'click'].forEach(t => item.dispatchEvent(new MouseEvent(t,
                {{bubbles: true, clientX: r.x + 2, clientY: r.y + 2, button: 0}})));
            return new Promise(ok => setTimeout(() => ok(gd._fullData[0].visible), 500)); }})()""", await_promise=True)
        assert hidden == "legendonly"
        zoomed = _eval(dt, f"""(() => {{ const gd = document.getElementById('{first}');
            return Plotly.relayout(gd, {{'yaxis.range': [10, 20]}}).then(() => gd._fullLayout.yaxis.range); }})()""",
                       await_promise=True)
        assert zoomed == [10, 20]
        requests = [e["params"]["request"]["url"] for e in dt.events if e["method"] == "Network.requestWillBeSent"
                    and not e["params"]["request"]["url"].startswith("data:")]
        assert requests == [url], requests
    finally:
        dt.call("Target.closeTarget", {"targetId": target["targetId"]}, browser=True)
        dt.close()


def test_table_of_contents_anchors_resolve(chromium: str, reports: Path) -> None:
    url = (reports / "2026-10" / "consistency.html").resolve().as_uri()
    dt, target = _open(chromium, url, offline=True)
    try:
        links = _eval(dt, "[...document.querySelectorAll('a[href^=\"#\"]')].map(a => a.getAttribute('href').slice(1))")
        toc = _eval(dt, "[...document.querySelectorAll('nav.toc a')].map(a => a.getAttribute('href').slice(1))")
        assert {"conclusion", "rates", "items", "anomalies", "repairs", "signoff"} <= set(toc)
        missing = _eval(dt, "[...document.querySelectorAll('a[href^=\"#\"]')]"
                            ".map(a => a.getAttribute('href').slice(1)).filter(id => !document.getElementById(id))")
        assert links and not missing, missing
    finally:
        dt.call("Target.closeTarget", {"targetId": target["targetId"]}, browser=True)
        dt.close()


def _pages_ink(pdf: Path, tmp: Path) -> list[tuple[float, float]]:
    """Per page: the share of non-white pixels, and how far down the page the last ink is (0..1)."""
    if shutil.which("pdftoppm") is None:
        service_unavailable("pdftoppm (Debian package poppler-utils)", "not on PATH")
    subprocess.run(["pdftoppm", "-gray", "-r", "30", str(pdf), str(tmp / "page")], check=True, timeout=120)
    out = []
    for pgm in sorted(tmp.glob("page-*.pgm")):
        raw = pgm.read_bytes()
        head = raw.split(maxsplit=4)     # P5 width height maxval pixels
        width, height = int(head[1]), int(head[2])
        pixels = raw[len(raw) - width * height:]
        ink = [i // width for i, v in enumerate(pixels) if v < 200]
        out.append((len(ink) / (width * height), (max(ink) + 1) / height if ink else 0.0))
    return out


@pytest.mark.parametrize("name", ["consistency", "synclog"])
def test_pdf_pages_expected_and_none_blank(chromium: str, reports: Path, name: str, tmp_path: Path) -> None:
    pdf = reports / "2026-10" / f"{name}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    # The expected count: the page's printed height over the A4 printable height (297 mm - 2 x 14 mm
    # at 96 px per inch), laid out as Chromium prints it (print media, A4 text width: 210 mm - 2 x 12 mm).
    url = (reports / "2026-10" / f"{name}.html").resolve().as_uri()
    dt, target = _open(chromium, url, offline=True)
    try:
        dt.call("Emulation.setEmulatedMedia", {"media": "print"})
        dt.call("Emulation.setDeviceMetricsOverride",
                {"width": 703, "height": 1016, "deviceScaleFactor": 1, "mobile": False})
        height = _eval(dt, "new Promise(ok => setTimeout(() => ok(document.documentElement.scrollHeight), 800))",
                       await_promise=True)
    finally:
        dt.call("Target.closeTarget", {"targetId": target["targetId"]}, browser=True)
        dt.close()
    pages = _pages_ink(pdf, tmp_path)
    least = -(-height // 1016)
    # rows and charts are never split across pages, so a page may end a little early: at most one page more
    assert least <= len(pages) <= least + 1, (len(pages), height)
    for n, (ink, reach) in enumerate(pages, start=1):
        assert ink > 0.005, f"page {n} of {len(pages)} of {name}.pdf is blank"
        if n < len(pages):   # a page cut short by a forced break leaves its lower half empty
            assert reach > 0.6, f"page {n} of {len(pages)} of {name}.pdf is mostly blank (ink down to {reach:.0%})"
