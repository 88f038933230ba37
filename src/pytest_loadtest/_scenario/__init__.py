"""What virtual users run: targets, :class:`~._target.Scenario` objects and TOML scenario files.

Imports settings (a scenario file carries settings) and the model. Import from the submodules.
"""
