"""The memory store: the reference semantics, and the store for tests and tools.

A transaction works on copies and swaps them in on commit, so a failed write
leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import threading

from ..accounts import User
from ..audit import Change, ChangeFilter
from ..errors import NotFound
from ..evaluate import run_query
from ..model import District, Site, Survey, Unit
from ..query import Query
from .base import Page, SiteStore, Writer


class MemoryStore(SiteStore):
    def __init__(self, url: str = "memory://"):
        self.url = url
        self._sites: dict[str, Site] = {}
        self._surveys: dict[str, list[Survey]] = {}
        self._units: dict[str, list[Unit]] = {}
        self._districts: dict[str, District] = {}
        self._users: dict[str, User] = {}
        self._changes: list[Change] = []
        self._lock = threading.Lock()

    def get(self, site_id: str) -> Site:
        try:
            return self._sites[site_id]
        except KeyError:
            raise NotFound(f"no site {site_id!r}") from None

    def query(self, q: Query) -> Page:
        sites, matched = run_query(list(self._sites.values()), q)
        return Page(sites, matched)

    def surveys(self, site_id: str) -> list[Survey]:
        return sorted(self._surveys.get(site_id, []), key=lambda s: s.survey_date)

    def units(self, site_id: str) -> list[Unit]:
        return sorted(self._units.get(site_id, []), key=lambda u: (u.floor, u.unit_label))

    def districts(self, city: str | None = None) -> list[District]:
        return [d for _, d in sorted(self._districts.items()) if city is None or d.city == city]

    def changes(self, f: ChangeFilter = ChangeFilter()) -> tuple[list[Change], int]:
        city_of = lambda site_id: getattr(self._sites.get(site_id), "city", None)  # noqa: E731
        hits = [c for c in reversed(self._changes) if f.matches(c, city_of)]
        end = None if f.limit is None else f.offset + f.limit
        return hits[f.offset:end], len(hits)

    def users(self) -> list[User]:
        return [u for _, u in sorted(self._users.items())]

    def user(self, username: str) -> User | None:
        return self._users.get(username)

    def user_by_token(self, token_hash: str) -> User | None:
        return next((u for u in self._users.values() if token_hash and u.token_hash == token_hash), None)

    def _begin(self) -> Writer:
        self._lock.acquire()
        return _MemoryWriter(self)


class _MemoryWriter(Writer):
    def __init__(self, store: MemoryStore):
        super().__init__()
        self.store = store
        self.sites = dict(store._sites)
        self.surveys = {k: list(v) for k, v in store._surveys.items()}
        self.units = {k: list(v) for k, v in store._units.items()}
        self.districts = dict(store._districts)
        self.users = dict(store._users)
        self.changes = list(store._changes)

    def _site(self, site_id):
        return self.sites.get(site_id)

    def _surveys(self, site_id):
        return self.surveys.get(site_id, [])

    def _units(self, site_id):
        return self.units.get(site_id, [])

    def _write_site(self, site, insert):
        self.sites[site.id] = site

    def _write_survey(self, survey):
        old = self.surveys.get(survey.site_id, [])
        if survey in old:
            return False
        self.surveys[survey.site_id] = [s for s in old if s.survey_date != survey.survey_date] + [survey]
        return True

    def _write_units(self, site_id, units):
        self.units[site_id] = list(units)

    def _write_district(self, district):
        self.districts[district.adcode] = district

    def _user(self, username):
        return self.users.get(username)

    def _write_user(self, user):
        self.users[user.username] = user

    def _write_changes(self, changes):
        start = len(self.changes) + 1
        self.changes += [dataclasses.replace(c, id=start + i) for i, c in enumerate(changes)]

    def _refresh_occupancy(self, site_id, occupancy):
        self.sites[site_id] = self.sites[site_id].replace(occupancy=occupancy)

    def _commit(self):
        s = self.store
        s._sites, s._surveys, s._units, s._districts = self.sites, self.surveys, self.units, self.districts
        s._users, s._changes = self.users, self.changes
        self._release()

    def _rollback(self):
        self._release()

    def _release(self):
        if self.store._lock.locked() and not getattr(self, "_released", False):
            self._released = True
            self.store._lock.release()
