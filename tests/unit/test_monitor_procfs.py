"""The resource monitor without psutil (issue 18): on Linux it reads ``/proc``; elsewhere it is
off. psutil is the ``monitor`` extra, since installed it changes pytest-xdist's ``-n auto``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pytest_loadtest._engine._engine import Engine
from pytest_loadtest._monitor import _procfs
from pytest_loadtest._monitor._process import NoProcessReader, Reading
from pytest_loadtest._monitor._procfs import ProcfsReader, default_reader
from pytest_loadtest._monitor._resources import ResourceSampler
from pytest_loadtest._scenario._target import build_plan
from pytest_loadtest._settings._settings import LoadSettings

LINUX = Path("/proc/self/stat").is_file()

# proc(5): after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
# utime(14) stime(15) cutime cstime priority nice num_threads(20) itrealvalue starttime vsize
# rss(24) ...
STAT = "4242 (py (test) x) S 1 2 3 0 -1 0 10 0 0 0 250 50 0 0 20 0 7 0 99 123456 1000 18446744"
IO = "rchar: 10\nwchar: 20\nsyscr: 1\nsyscw: 2\nread_bytes: 4096\nwrite_bytes: 8192\n"
MACHINE = "cpu  100 10 50 800 40 5 5 0 30 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"


@pytest.fixture
def fake_proc(tmp_path: Path) -> Path:
    process = tmp_path / "4242"
    (process / "fd").mkdir(parents=True)
    for fd in range(5):
        (process / "fd" / str(fd)).touch()
    (process / "stat").write_text(STAT)
    (process / "io").write_text(IO)
    (tmp_path / "stat").write_text(MACHINE)
    return tmp_path


@pytest.mark.skipif(not hasattr(os, "sysconf"), reason="POSIX only")
def test_procfs_reader_parses_what_proc5_documents(fake_proc: Path) -> None:
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    reading = ProcfsReader(4242, proc=fake_proc).read()
    assert reading == Reading(
        cpu_seconds=(250 + 50) / tick,
        rss_bytes=1000 * page,
        threads=7,
        open_fds=5,
        read_bytes=4096,
        write_bytes=8192,
        # guest (30) is already in user; idle is idle + iowait
        system_busy=(100 + 10 + 50 + 5 + 5) / tick,
        system_total=(100 + 10 + 50 + 800 + 40 + 5 + 5) / tick,
    )


@pytest.mark.skipif(not hasattr(os, "sysconf"), reason="POSIX only")
def test_procfs_reader_without_io_or_fds_reports_none(fake_proc: Path) -> None:
    (fake_proc / "4242" / "io").unlink()
    for fd in (fake_proc / "4242" / "fd").iterdir():
        fd.unlink()
    (fake_proc / "4242" / "fd").rmdir()
    reading = ProcfsReader(4242, proc=fake_proc).read()
    assert (reading.read_bytes, reading.write_bytes, reading.open_fds) == (None, None, None)


@pytest.mark.skipif(not LINUX, reason="reads Linux's /proc")
def test_procfs_reader_agrees_with_psutil_on_this_process() -> None:
    psutil = pytest.importorskip("psutil")
    ours = ProcfsReader().read()
    theirs = psutil.Process().memory_info().rss
    assert ours.rss_bytes > 0
    assert theirs / 2 < ours.rss_bytes < theirs * 2
    assert ours.threads >= 1
    assert ours.open_fds is not None
    assert ours.open_fds >= 3
    assert 0 < ours.system_busy < ours.system_total
    assert ours.cpu_seconds > 0


@pytest.mark.skipif(not LINUX, reason="reads Linux's /proc")
def test_default_reader_without_psutil_reads_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil raises ImportError
    found = default_reader()
    assert found is not None
    reader, cpu_count = found
    assert isinstance(reader, ProcfsReader)
    assert cpu_count == os.cpu_count()
    sampler = ResourceSampler(0.05)
    sampler.start()
    samples = sampler.stop()
    assert samples.samples[0].rss_bytes > 0


def test_without_any_reader_the_monitor_is_off_and_runs_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_procfs, "_PROC", Path("/nonexistent-proc"))
    monkeypatch.setitem(sys.modules, "psutil", None)
    assert default_reader() is None
    with pytest.raises(NoProcessReader):
        ResourceSampler(1.0)
    settings = LoadSettings(users=1, iterations=5, seed=1, monitor_interval=0.05)
    result = Engine(build_plan(lambda: None), settings).run()
    assert result.total == 5
    assert result.resources is None
