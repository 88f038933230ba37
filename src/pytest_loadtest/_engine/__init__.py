"""The engine: running virtual users and turning what they recorded into a result.

:class:`~._engine.Engine` is the entry (``Engine(plan, settings).run()``). Drivers (closed and
open model) decide when users run and see the run only through its context; users, the recorder,
the collector, abort and the build step of the result live beside them. See ARCHITECTURE.md.
Import from the submodules.
"""
