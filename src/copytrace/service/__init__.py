"""HTTP query service over a copytrace index (FastAPI + uvicorn): see ``app``."""

from copytrace.service.app import create_app, serve

__all__ = ["create_app", "serve"]
