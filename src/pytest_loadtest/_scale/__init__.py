"""Scale-out: one load test spread over several worker processes, on this machine or others.

Plain code (execnet, no pytest): ``_places`` reads where workers start (``--load-tx`` specs),
``_pool`` starts and stops them over execnet, ``_wire`` is what coordinator and workers say to
each other, ``_coordinate`` runs a run's workers from the user's own pytest process and merges
what they measured, ``_worker`` is a run seen from a worker process. ``plugin.py`` starts a
worker's pytest session and wires both sides into ``LoadRunner``.
"""
