"""pytester tests of the plugin as users drive it (a package, so basenames may repeat elsewhere)."""
