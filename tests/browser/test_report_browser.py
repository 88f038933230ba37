"""The HTML report opened in headless Chromium: charts drawn, no script error, user text inert.

Drives Chromium's own command line (``--dump-dom``, ``--screenshot``): no driver package needed.
Skipped when Chromium is not installed (Debian: ``apt-get install -y chromium``) or the
``report`` extra (plotly) is missing. Set ``LOADTEST_SCREENSHOT_COPY=docs/report-screenshot.png``
to copy the screenshot there (how the README picture is made).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_loadtest._report._write import REPORT_FILES, write_report

from helpers.report_samples import (
    HOSTILE,
    HOSTILE_IMG,
    catalog_result,
    hostile_result,
    synthetic_result,
)

CHROMIUM = next(
    (
        found
        for name in ("chromium", "chromium-browser", "google-chrome")
        if (found := shutil.which(name))
    ),
    None,
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian: apt-get install -y chromium); "
    "the HTML report is checked in a real browser only where it is",
)

_TIMEOUT = 120.0


class Dom(HTMLParser):
    """The rendered DOM as Chromium serialises it: elements, classes and text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.body: dict[str, str | None] = {}
        self.tags: list[str] = []
        self.classes: list[str] = []
        self.text: list[str] = []
        self.errors_text = ""
        self._in_errors = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        self.classes.extend((found.get("class") or "").split())
        if tag == "body":
            self.body = found
        self._in_errors = found.get("id") == "report-errors"

    def handle_endtag(self, tag: str) -> None:
        self._in_errors = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_errors:
            self.errors_text += data


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",  # let every chart finish before the page is read
        *args,
    ]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("plotly", reason="the report extra (pytest-loadtest[report]) is missing")
    directory = tmp_path_factory.mktemp("browser") / "report"
    write_report(directory, [synthetic_result(), catalog_result(), hostile_result()])
    return directory


def test_charts_render_without_script_errors(report: Path, tmp_path: Path) -> None:
    page = (report / "index.html").as_uri()
    done = _chromium("--dump-dom", page, profile=tmp_path / "profile")
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # uncaught errors and CSP refusals are logged here
    dom = Dom(done.stdout)
    assert dom.body.get("data-report-ready") == "1"
    assert dom.errors_text == ""
    # four charts per result, and one of the process's resources for the two engine runs
    charts = (report / "index.html").read_text().count('<div class="chart" data-kind=')
    assert charts == 3 * 4 + 2
    assert dom.body.get("data-charts-rendered") == str(charts)
    assert dom.classes.count("js-plotly-plot") == charts
    assert dom.classes.count("main-svg") >= charts
    assert dom.classes.count("scatterlayer") >= charts  # traces were drawn
    assert dom.classes.count("shape-group") >= 1  # SLA threshold lines


def test_user_text_stays_text_in_the_browser(report: Path, tmp_path: Path) -> None:
    done = _chromium("--dump-dom", (report / "index.html").as_uri(), profile=tmp_path / "p")
    dom = Dom(done.stdout)
    assert "img" not in dom.tags
    assert "data-pwned" not in dom.body
    text = "".join(dom.text)
    assert HOSTILE in text
    assert HOSTILE_IMG in text


def test_screenshot(report: Path, tmp_path: Path) -> None:
    shot = report / "screenshot.png"
    done = _chromium(
        "--window-size=1400,1250",
        f"--screenshot={shot}",
        (report / "index.html").as_uri(),
        profile=tmp_path / "profile",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000
    assert sorted(p.name for p in report.iterdir()) == sorted([*REPORT_FILES, "screenshot.png"])
    copy_to = os.environ.get("LOADTEST_SCREENSHOT_COPY")
    if copy_to:
        shutil.copyfile(shot, copy_to)
