"""Stores filled with bench/synthetic.py sites, for tests that need many sites: the same sites in the
GeoPackage store and in the memory store (the reference evaluator, sites.evaluate) answer alike."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench import synthetic
from sites.stores import open_store

TODAY = date(2026, 11, 22)


def load(store, n: int, seed: int, surveys: bool = True):
    """The store with n synthetic sites (and their surveys), in one transaction."""
    sites, site_surveys = synthetic.generate(n, seed=seed)
    with store.transaction() as tx:
        tx.today = TODAY
        for s in sites:
            tx.put_site(s)
        for s in site_surveys if surveys else ():
            tx.put_survey(s)
    return store


def twins(directory: Path, n: int, seed: int) -> tuple:
    """A new GeoPackage store in directory and a memory store, with the same n synthetic sites."""
    return tuple(load(open_store(url, create=True), n, seed)
                 for url in (str(directory / "twin.gpkg"), "memory://"))
