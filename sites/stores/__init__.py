"""Store backends behind one contract (base.SiteStore), chosen by URL.

``open_store(url)``: ``memory://`` for the memory store; a path ending in
``.gpkg`` (or ``gpkg:PATH``) for the GeoPackage store; ``postgresql://`` is
reserved for the PostGIS backend (not built yet).  Backends are imported lazily,
so a missing driver only matters to the backend that needs it.
"""

from __future__ import annotations

from ..errors import StoreError
from .base import Page, SiteStore, Writer

__all__ = ["open_store", "SiteStore", "Page", "Writer"]


def open_store(url: str, create: bool = False) -> SiteStore:
    url = (url or "").strip()
    if not url:
        raise StoreError("no store given: set SITES_STORE_URL to a .gpkg path or memory://")
    if url.startswith("memory://"):
        from .memory import MemoryStore
        return MemoryStore(url)
    if url.startswith(("postgresql://", "postgres://", "postgis://")):
        raise StoreError("the PostGIS store is not available yet; use a .gpkg path (SITES_STORE_URL)")
    path = url[len("gpkg:"):] if url.startswith("gpkg:") else url
    if path.startswith("file://"):
        path = path[len("file://"):]
    if not path.lower().endswith(".gpkg"):
        raise StoreError(f"SITES_STORE_URL {url!r} is not a .gpkg path, memory:// or postgresql:// URL")
    from .gpkg import GeoPackageStore
    return GeoPackageStore(path, create_if_missing=create)
