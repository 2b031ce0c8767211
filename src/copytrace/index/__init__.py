"""A persistent index of documents (one DuckDB file): add once, query any time.

See :mod:`copytrace.index.store` for the storage layout, the query pipeline and
the transaction/concurrency model.
"""

from copytrace.index.store import SCHEMA_VERSION, AddResult, Index, IndexStoreError, Match

__all__ = ["Index", "AddResult", "Match", "IndexStoreError", "SCHEMA_VERSION"]
