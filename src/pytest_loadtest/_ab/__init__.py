"""``pytest-loadtest-ab``: the base and the changed code's load tests run in turns, compared in
pairs (:mod:`pytest_loadtest._baseline._paired`).

::

    git worktree add ../base origin/main
    pytest-loadtest-ab --base ../base --fail p50:10% -- -m load tests/load_testing

Each round runs ``python -m pytest PYTEST-ARGS`` once in the base directory and once here, in an
order drawn at random (``--seed``), each saving its load results into one storage folder
(``--load-save=ab-base`` / ``ab-head``, ``--load-save-failed``); then every ``--fail`` check of
every test and operation is judged over the pairs. Rounds: ``--pairs``, or the fewest with which
every check can fail at ``--alpha``, known once the first round shows how many there are.

Exit status: 0 when no check regressed and every head run passed; 1 when a check regressed or a
head run failed its tests (before it saved anything, too); 2 for bad arguments, a run that ended
with pytest's status 2 or more (interrupted, internal error, usage error, nothing collected),
was killed by a signal or saved no load results, and when no check could be judged; 130 on
Ctrl-C or SIGTERM (the run under way is interrupted too, and waited for).

``_options.py`` parses the command line, ``_runs.py`` runs each side and reads back what it
saved, ``_cli.py`` is the entry point and prints the verdicts.
"""
