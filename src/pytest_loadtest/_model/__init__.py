"""The model: what a load run produced and how it is judged, as plain data.

Statistics (:mod:`._stats`, :mod:`._latency`), results (:mod:`._result`), timeline rows and error
samples (:mod:`._timeline`), :class:`~._abort.Abort`, findings (:mod:`._finding`), SLAs
(:mod:`._sla`), capacity searches (:mod:`._capacity`), recovery times (:mod:`._recovery`), the
metrics registry (:mod:`._metrics`), load shapes (:mod:`._shapes`), units, clocks and progress
snapshots.

This is the leaf of the package: it imports nothing from the engine, the monitor, reports,
baselines, settings or the plugin. Import from the submodules; this file imports nothing, so that
reading a unit parser does not load numpy.
"""
