"""copytrace — find every copy of a text in a collection."""
__version__ = "0.1.0"
