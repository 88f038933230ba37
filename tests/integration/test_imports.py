"""What importing a package loads, seen from a fresh interpreter: the test process has loaded
everything already. (The plugin's own import cost is checked in ``tests/plugin/test_interrupt.py``.)
"""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_monitor_imports_neither_sqlalchemy_nor_psutil_nor_pytest() -> None:
    code = (
        "import sys, pytest_loadtest._monitor; "
        "print(sorted({'sqlalchemy', 'psutil', 'pytest'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_the_report_package_loads_no_chart_library() -> None:
    code = (
        "import sys, pytest_loadtest._report; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('uplot', 'pytest')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
