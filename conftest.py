"""Root conftest of the pytest-loadtest repository.

Loads pytest's ``pytester`` plugin for the plugin's own tests (``tests/plugin``), which drive
pytest in-process exactly as users do. It lives here, at the rootdir, because pytest accepts
``pytest_plugins`` only in the root conftest.
"""

from __future__ import annotations

pytest_plugins = ["pytester"]
