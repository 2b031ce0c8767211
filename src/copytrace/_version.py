"""copytrace's version, in a module of its own: the engines, the index and the
CLI record it without importing the package's ``__init__`` (whose lazy API
imports the engines), so no import cycle runs through the package.  Keep it
equal to ``version`` in pyproject.toml."""

__version__ = "0.1.0"
