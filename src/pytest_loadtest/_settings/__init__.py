"""Settings: the table of every per-run setting and session option, their parsers, and the one
resolver that merges the layers (command line, ``run()``, scenario, marker, ini, default).

Plain code: no pytest. Imports only the model. Import from the submodules.
"""
