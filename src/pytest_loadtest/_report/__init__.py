"""Reports of load results: ``index.html``, ``results.json``, ``timeline.csv``, ``summary.csv``,
a GitHub job summary in Markdown, and live progress lines.

Nothing here imports pytest, and nothing heavy is imported before a report is written: the
chart library (uPlot from ``uplot-python``, the ``report`` extra) is loaded by
:func:`write_report` only.

Typical use by the plugin at the end of a session (import from the submodules: this file
imports nothing, so that the progress printer does not load the report's writers)::

    paths = write_report(Path(option), results, metadata={"pytest": pytest.__version__})
    note = charts_note()  # None when the report has charts
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        append_step_summary(os.environ["GITHUB_STEP_SUMMARY"], results)
"""
