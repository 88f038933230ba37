"""``index.html`` and ``write_report``: files, tables, charts, SLA lines, escaping, the extra."""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pytest_loadtest._model._result import LoadResult
from pytest_loadtest._report._charts import figures
from pytest_loadtest._report._html import MISSING_EXTRA, load_plotly_js, render_html, script_json
from pytest_loadtest._report._view import views
from pytest_loadtest._report._write import REPORT_FILES, charts_note, write_report

from helpers.report_samples import HOSTILE, broken_step_result, hostile_result, synthetic_result


class Page(HTMLParser):
    """What a browser's parser sees: scripts with their content, text, elements by class."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.text: list[str] = []
        self.classes: list[str] = []
        self.tags: list[str] = []
        self.csp = ""
        self._script: dict[str, str | None] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        self.classes.extend((found.get("class") or "").split())
        if tag == "script":
            self._script = found
            self.scripts.append((found, ""))
        if found.get("http-equiv") == "Content-Security-Policy":
            self.csp = found.get("content") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            attrs, content = self.scripts[-1]
            self.scripts[-1] = (attrs, content + data)
        else:
            self.text.append(data)


@pytest.fixture(scope="module")
def results() -> list[LoadResult]:
    return [synthetic_result(), hostile_result()]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory, results: list[LoadResult]) -> Path:
    target = tmp_path_factory.mktemp("session") / "nested" / "report"
    written = write_report(target, results, metadata={"args": HOSTILE})
    assert written == [target / name for name in REPORT_FILES]
    return target


@pytest.fixture(scope="module")
def page(directory: Path) -> Page:
    return Page((directory / "index.html").read_text(encoding="utf-8"))


def _figures(page: Page) -> dict[str, Any]:
    return {
        str(attrs["id"]): json.loads(content)
        for attrs, content in page.scripts
        if attrs.get("type") == "application/json"
    }


def test_every_file_is_written(directory: Path) -> None:
    assert sorted(p.name for p in directory.iterdir()) == sorted(REPORT_FILES)


def test_other_files_in_the_directory_are_kept(tmp_path: Path) -> None:
    (tmp_path / "screenshot.png").write_bytes(b"png")
    (tmp_path / "results.json").write_text("old", encoding="utf-8")
    write_report(tmp_path, [synthetic_result(seconds=3)])
    assert (tmp_path / "screenshot.png").read_bytes() == b"png"
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["results"]


def test_summary_table_and_one_section_per_result(page: Page, results: list[LoadResult]) -> None:
    text = " ".join(page.text)
    assert page.classes.count("result") == len(results)
    assert "tests/test_shop.py::test_shop [shop]" in text
    assert page.classes.count("fail") >= 1
    assert "FAIL" in text
    assert "PASS" in text
    assert "payment service did not answer within 2s" in text
    for operation in ("browse", "list", "open", "checkout", "login"):
        assert operation in page.text
    assert "p99.9" in page.text  # the per-target SLA table


def test_four_charts_per_result_and_resources_when_sampled(
    page: Page, results: list[LoadResult]
) -> None:
    def kinds(result: LoadResult) -> list[str]:
        sampled = ["resources"] if result.resources else []
        return ["latency", "throughput", "users", *sampled, "distribution"]

    assert any(r.resources for r in results), "an engine run samples its process"
    assert not all(r.resources for r in results), "a built result has no samples"
    assert page.classes.count("chart") == sum(len(kinds(r)) for r in results)
    data = _figures(page)
    assert sorted(data) == sorted(
        f"figure-{i}-{kind}" for i, result in enumerate(results) for kind in kinds(result)
    )
    sampled = next(i for i, r in enumerate(results) if r.resources)
    cpu, rss = data[f"figure-{sampled}-resources"]["data"]
    assert cpu["name"] == "process CPU %"
    assert rss["yaxis"] == "y2"
    assert len(rss["y"]) == len(results[sampled].resources["samples"])  # type: ignore[index]
    latency = data["figure-0-latency"]
    assert [trace["name"] for trace in latency["data"][:3]] == ["p50", "p95", "p99"]
    assert len(latency["data"][1]["y"]) == len(results[0].timeline)


def test_sla_thresholds_are_drawn(page: Page) -> None:
    data = _figures(page)
    lines = {
        (shape["yref"], shape["y0"])
        for kind in ("latency", "throughput")
        for shape in data[f"figure-0-{kind}"]["layout"]["shapes"]
        if shape["type"] == "line"
    }
    assert ("y", 40.0) in lines  # p95 target, ms
    assert ("y", 80.0) in lines  # p99
    assert ("y", 100.0) in lines  # throughput_min, calls/s
    assert ("y2", 1.0) in lines  # error_rate, percent on the second axis
    markers = {
        trace["name"]: list(zip(trace["x"], trace["y"], strict=True))
        for trace in data["figure-0-distribution"]["data"]
        if trace["name"].startswith("SLA")
    }
    assert markers["SLA"] == [(20.0, 40.0), (100.0, 80.0)]  # p95 at x=1/(1-0.95)
    assert markers["SLA checkout"] == [(20.0, 60.0), (pytest.approx(1000.0), 150.0)]


def test_distribution_has_a_log_percentile_axis(page: Page, results: list[LoadResult]) -> None:
    figure = _figures(page)["figure-0-distribution"]
    assert figure["layout"]["xaxis"]["type"] == "log"
    assert "99.999%" in figure["layout"]["xaxis"]["ticktext"]
    curve = figure["data"][0]
    pairs = dict(results[0].histogram.distribution())
    assert curve["customdata"][-1] == 99.999
    assert curve["y"][-1] == pytest.approx(pairs[99.999])
    names = {trace["name"] for trace in figure["data"]}
    assert {"all calls", "browse", "checkout", "list", "open"} <= names


def test_user_text_is_text_not_markup(directory: Path, page: Page) -> None:
    raw = (directory / "index.html").read_text(encoding="utf-8")
    assert HOSTILE not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    # the parser sees the hostile strings as text (test id, operation, message, metadata) ...
    assert sum(HOSTILE in chunk for chunk in page.text) >= 4
    # ... and no script element but the page's own: capture, plotly, render, figure data
    own = [attrs for attrs, _ in page.scripts if attrs.get("type") != "application/json"]
    assert len(own) == (3 if load_plotly_js() is not None else 2)
    for _, content in page.scripts:
        assert "alert(1)</script" not in content


def test_figure_data_is_safe_inside_a_script_element(page: Page) -> None:
    for attrs, content in page.scripts:
        if attrs.get("type") == "application/json":
            assert "<" not in content
            assert ">" not in content
    names = [trace["name"] for trace in _figures(page)["figure-1-distribution"]["data"]]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in names  # Plotly reads HTML in names


@pytest.mark.parametrize("text", ["</script><script>x()</script>", "<!--", "a\u2028b", "&amp;"])
def test_script_json_round_trips(text: str) -> None:
    encoded = script_json({"name": text})
    assert not re.search(r"[<>&\u2028\u2029]", encoded)
    assert json.loads(encoded) == {"name": text}


def test_content_security_policy_allows_exactly_the_page_scripts(page: Page) -> None:
    allowed = set(re.findall(r"'sha256-([^']+)'", page.csp))
    own = [c for attrs, c in page.scripts if attrs.get("type") != "application/json"]
    hashes = {base64.b64encode(hashlib.sha256(c.encode()).digest()).decode() for c in own}
    assert hashes == allowed
    assert "unsafe-inline" not in page.csp.split("script-src")[1]


def test_plotly_bundle_is_inlined_once(directory: Path, page: Page) -> None:
    bundle = load_plotly_js()
    if bundle is None:
        pytest.skip("plotly (pytest-loadtest[report]) is not installed")
    raw = (directory / "index.html").read_text(encoding="utf-8")
    assert raw.count(bundle[:300]) == 1
    # nothing fetched: works offline, opened from disk
    assert all("src" not in attrs for attrs, _ in page.scripts)
    assert not {"link", "img", "iframe"} & set(page.tags)


def test_without_the_extra_tables_are_written_and_the_page_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.import_module

    def no_plotly(name: str, package: str | None = None) -> Any:
        if name.startswith("plotly"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", no_plotly)
    assert load_plotly_js() is None
    written = write_report(tmp_path, [synthetic_result(seconds=5)])
    assert [p.name for p in written] == list(REPORT_FILES)
    page = Page((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert "chart" not in page.classes
    assert "notice" in page.classes
    assert any(MISSING_EXTRA in chunk for chunk in page.text)
    assert "checkout" in page.text  # the tables are still there


def test_charts_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    note = charts_note()
    assert note is not None
    assert "pip install 'pytest-loadtest[report]'" in note


def test_no_results_gives_a_page_that_says_so(tmp_path: Path) -> None:
    write_report(tmp_path, [])
    page = Page((tmp_path / "index.html").read_text(encoding="utf-8"))
    assert "No load test ran." in page.text


def test_figures_tolerate_missing_keys() -> None:
    """A result dict from another plugin version: absent keys leave charts empty, not broken."""
    [view] = views([synthetic_result(seconds=3)])
    for key in ("sla", "settings", "timeline", "operations", "duration"):
        view.data.pop(key)
    built = figures(view)
    assert set(built) == {"latency", "throughput", "users", "distribution"}
    assert built["latency"]["data"][0]["x"] == []
    assert render_html([view], {}, plotly_js=None).startswith("<!DOCTYPE html>")


def test_a_broken_capacity_step_is_a_finding_not_a_failure() -> None:
    result = broken_step_result()
    assert result.sla_breaches  # the abort
    page = render_html(views([result]), {}, plotly_js=None)
    badges = re.findall(r'<span class="badge (\w+)"[^>]*>([^<]*)</span>', page)
    # the summary table and the section header: "BROKE", never "FAIL"; its SLA row held
    assert badges[:2] == [("broke", "BROKE"), ("broke", "BROKE")]
    assert ("fail", "FAIL") not in badges


def test_no_python_repr_on_the_page() -> None:
    page = render_html(views([broken_step_result(), synthetic_result()]), {}, plotly_js=None)
    text = "".join(Page(page).text)
    assert "aborted at 1.1s of 12s (abort_on_breach)" in text  # the prose, once
    assert text.count("aborted at 1.1s") == 1
    for repr_mark in ("{'", "['", "': ", "None", "<pytest_loadtest", "object at 0x"):
        assert repr_mark not in text
