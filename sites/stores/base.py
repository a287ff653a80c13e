"""The one store contract.  Every backend (memory, GeoPackage, later PostGIS)
implements it; callers never know which one they hold.

Reads: ``get``, ``query`` (a Query -> Page), ``surveys``, ``units``, ``districts``,
``changes`` (the audit trail), ``users``/``user``/``user_by_token`` (accounts).
Writes happen only inside ``with store.transaction(actor) as tx:`` — everything done
through ``tx`` becomes visible at once when the block ends, or not at all if it
raises.  Inside a transaction, read through ``tx.get`` (it sees the
transaction's own writes); the store's readers see only what is committed, and
on a file store a large open transaction can make them wait.  The writer validates every record (sites.validation) and, before
committing, checks that each touched site still agrees with its surveys and units.
Each change the writer makes is recorded as one audit entry (sites.audit) in the
same transaction: who (the transaction's Actor), when, what, before and after.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from contextlib import contextmanager
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterator, Sequence

from ..accounts import User, new_session_stamp, validate_user
from ..audit import Actor, Change, ChangeFilter, site_delta, site_record, survey_record, units_record, user_delta
from ..errors import Conflict, NotFound
from ..model import District, Site, Survey, Unit, current_occupancy
from ..query import Query
from ..schema import property_names, site_properties
from ..validation import validate_site, validate_survey, validate_units


@dataclass(frozen=True)
class Page:
    sites: list[Site]
    number_matched: int


@dataclass(frozen=True)
class FeaturePage:
    """A page as GeoJSON: ``features`` is the JSON array of its features, UTF-8 encoded."""
    features: bytes
    number_returned: int
    number_matched: int


#: every property of a site's GeoJSON feature, in order (sites.schema.site_properties less id)
PROPERTIES: tuple[str, ...] = tuple(property_names())


def site_feature(site: Site, properties: Sequence[str] = PROPERTIES) -> dict:
    """A site as a GeoJSON Feature with exactly the listed properties, in that order (id and
    unknown names are left out)."""
    props = site_properties(site)
    geom = site.geometry
    geometry = {"type": "Point", "coordinates": [geom.x, geom.y]} if geom.geom_type == "Point" \
        else geom.__geo_interface__
    return {"type": "Feature", "id": site.id, "geometry": geometry,
            "properties": {k: props[k] for k in properties if k in props and k != "id"}}


class SiteStore(ABC):
    url: str

    @abstractmethod
    def get(self, site_id: str) -> Site:
        """The site with its current occupancy; NotFound if there is none."""

    @abstractmethod
    def query(self, q: Query) -> Page:
        """Sites matching q.filter, sorted by q.sortby then id, paged by q.limit/q.offset."""

    def query_geojson(self, q: Query, properties: Sequence[str]) -> FeaturePage:
        """The same page as GeoJSON features with exactly the listed properties (see site_feature).
        A backend may render them itself (the GeoPackage store does, in SQL)."""
        page = self.query(q)
        features = [site_feature(site, properties) for site in page.sites]
        return FeaturePage(json.dumps(features, ensure_ascii=False, separators=(",", ":")).encode(), len(features),
                           page.number_matched)

    def feature_geojson(self, site_id: str, properties: Sequence[str]) -> tuple[bytes, int]:
        """One site as a GeoJSON feature (UTF-8, as query_geojson renders it) and its version;
        NotFound if there is none."""
        site = self.get(site_id)
        return json.dumps(site_feature(site, properties), ensure_ascii=False,
                          separators=(",", ":")).encode(), site.version

    @abstractmethod
    def surveys(self, site_id: str) -> list[Survey]:
        """The site's surveys, oldest first."""

    @abstractmethod
    def units(self, site_id: str) -> list[Unit]:
        """The site's units, by floor and label."""

    @abstractmethod
    def districts(self, city: str | None = None) -> list[District]:
        """District (and city outline) boundaries, by adcode."""

    @abstractmethod
    def changes(self, f: ChangeFilter = ChangeFilter()) -> tuple[list[Change], int]:
        """Audit entries matching f, newest first, paged; and how many match in all."""

    @abstractmethod
    def users(self) -> list[User]:
        """Every account, by username."""

    @abstractmethod
    def user(self, username: str) -> User | None:
        """The account of that name, or None."""

    @abstractmethod
    def user_by_token(self, token_hash: str) -> User | None:
        """The account whose API token has that hash, or None."""

    @abstractmethod
    def _begin(self) -> "Writer":
        """Start a write transaction."""

    def district(self, key: str) -> District:
        """A district by adcode or by name (name must be unambiguous)."""
        matches = [d for d in self.districts() if key in (d.adcode, d.name)]
        if not matches:
            raise NotFound(f"no district {key!r} (give an adcode such as 370202 or a name such as 市南区)")
        if len(matches) > 1:
            names = ", ".join(f"{d.city}{d.name} {d.adcode}" for d in matches)
            raise NotFound(f"district name {key!r} is ambiguous ({names}); give the adcode")
        return matches[0]

    def district_geometry(self, key: str):
        from ..errors import FilterError
        try:
            return self.district(key).geometry
        except NotFound as exc:
            raise FilterError(exc.message, parameter="within_district") from None

    def extent(self) -> tuple[float, float, float, float] | None:
        """(minx, miny, maxx, maxy) of every site, None when there are none."""
        sites = self.query(Query()).sites
        if not sites:
            return None
        b = [s.geometry.bounds for s in sites]
        return (min(x[0] for x in b), min(x[1] for x in b), max(x[2] for x in b), max(x[3] for x in b))

    def all_sites(self) -> list[Site]:
        return self.query(Query()).sites

    @contextmanager
    def transaction(self, actor: Actor | None = None) -> Iterator["Writer"]:
        """One all-or-nothing write by ``actor`` (default: the command-line user)."""
        tx = self._begin()
        tx.actor = actor or Actor.command_line()
        try:
            yield tx
            tx._check_touched()
            if tx._changes:
                tx._write_changes(tx._changes)
            tx._commit()
        except BaseException:
            tx._rollback()
            raise

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Writer(ABC):
    """Writes within one transaction.  Subclasses implement the underscore methods."""

    actor: Actor

    def __init__(self, today: date | None = None):
        self.today = today or date.today()
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.batch = uuid.uuid4().hex[:16]
        self._changes: list[Change] = []  # the audit entries of this transaction, written before commit
        self._touched: set[str] = set()
        self._written: dict[str, Site] = {}  # sites put in this transaction, as stored (saves reading them back)
        self.changed = 0  # records actually changed (unchanged re-imports do not count)

    def get(self, site_id: str) -> Site | None:
        """A site as this transaction sees it (None if there is none)."""
        return self._current(site_id)

    def _current(self, site_id: str) -> Site | None:
        site = self._written.get(site_id)
        return site if site is not None else self._site(site_id)

    # --- the contract
    def put_site(self, site: Site, expected_version: int | None = None) -> Site:
        """Insert or update a site by id.  An unchanged site is left alone (no new version).

        ``expected_version`` (from an edit form or an If-Match) must equal the stored
        version, else Conflict and nothing is written.
        """
        validate_site(site, self.today)
        old = self._site(site.id)
        if expected_version is not None:
            current = old.version if old else 0
            if current != expected_version:
                raise Conflict(f"site {site.id!r} was changed by someone else (version {current}, "
                               f"your copy is version {expected_version}); reload and try again")
        if old is not None and _same_site(old, site):
            self._written[site.id] = old
            return old
        new = site.replace(version=(old.version if old else 0) + 1, occupancy=None)
        self._write_site(new, insert=old is None)
        self._written[site.id] = new
        self._touched.add(site.id)
        self.changed += 1
        if old is None:
            self._record("create", site.id, None, None, site_record(new), new.version)
        else:
            before, after = site_delta(old, new)
            action = "retire" if new.status == "retired" and old.status != "retired" else "update"
            self._record(action, site.id, None, before, after, new.version)
        return new

    def put_survey(self, survey: Survey) -> None:
        """Insert a survey, or replace the one of that site on that date."""
        validate_survey(survey, self._current(survey.site_id), self.today)
        old = next((s for s in self._surveys(survey.site_id) if s.survey_date == survey.survey_date), None)
        if not self._write_survey(survey):
            return  # the same survey was there already
        self._touched.add(survey.site_id)
        self.changed += 1
        self._record("survey", survey.site_id, survey.survey_date.isoformat(), survey_record(old),
                     survey_record(survey))

    def set_units(self, site_id: str, units: list[Unit]) -> None:
        """Replace all units of a site (an empty list removes them)."""
        site = self._current(site_id)
        if site is None:
            raise NotFound(f"no site {site_id!r}")
        validate_units(site, units, self.today)
        old = self._units(site_id)
        if sorted(units, key=_unit_key) == sorted(old, key=_unit_key):
            return
        self._write_units(site_id, units)
        self._touched.add(site_id)
        self.changed += 1
        self._record("units", site_id, "units", units_record(old), units_record(units))

    def put_district(self, district: District) -> None:
        """District boundaries are reference data from geodata/: not audited."""
        self._write_district(district)

    def put_user(self, user: User) -> User:
        """Create or change an account (audited, without its secrets)."""
        validate_user(user)
        old = self._user(user.username)
        if old == user:
            return user
        if old is None or old.password_hash != user.password_hash or (old.active and not user.active):
            user = user.replace(session_stamp=new_session_stamp())  # ends every earlier browser session
        self._write_user(user)
        before, after = user_delta(old, user) if old else (None, user.record())
        if after:  # nothing to record when only the login bookkeeping changed
            self._record("user", None, user.username, before, after)
        return user

    def units(self, site_id: str) -> list[Unit]:
        """A site's units as this transaction sees them."""
        return self._units(site_id)

    def user(self, username: str) -> User | None:
        """An account as this transaction sees it (read-modify-write of login bookkeeping)."""
        return self._user(username)

    def note_login(self, user: User) -> None:
        """Store a login attempt's bookkeeping (failure count, lock-out): not an inventory change."""
        self._write_user(user)

    def _record(self, action, site_id, subject, before, after, version=None) -> None:
        self._changes.append(Change(self.now, self.actor.user, self.actor.channel, action, site_id, subject,
                                    before, after, self.batch, version))

    def _check_touched(self) -> None:
        """Every touched site must still agree with its surveys and units."""
        touched = sorted(self._touched)
        all_surveys, all_units = self._surveys_of(touched), self._units_of(touched)
        for site_id in touched:
            site = self._current(site_id)
            surveys, units = all_surveys.get(site_id, []), all_units.get(site_id, [])
            for survey in surveys:
                validate_survey(survey, site, self.today)
            if units:
                validate_units(site, units, self.today)
            self._refresh_occupancy(site_id, current_occupancy(surveys, units))

    # --- for subclasses
    @abstractmethod
    def _site(self, site_id: str) -> Site | None: ...
    @abstractmethod
    def _surveys(self, site_id: str) -> list[Survey]: ...
    @abstractmethod
    def _units(self, site_id: str) -> list[Unit]: ...
    @abstractmethod
    def _write_site(self, site: Site, insert: bool) -> None: ...
    @abstractmethod
    def _write_survey(self, survey: Survey) -> bool:
        """Insert, or replace the survey of that site and date; False if it was there unchanged."""

    def _surveys_of(self, site_ids: list[str]) -> dict[str, list[Survey]]:
        """The surveys of many sites (a backend may read them in bulk)."""
        return {i: self._surveys(i) for i in site_ids}

    def _units_of(self, site_ids: list[str]) -> dict[str, list[Unit]]:
        return {i: self._units(i) for i in site_ids}
    @abstractmethod
    def _write_units(self, site_id: str, units: list[Unit]) -> None: ...
    @abstractmethod
    def _write_district(self, district: District) -> None: ...
    @abstractmethod
    def _user(self, username: str) -> User | None: ...
    @abstractmethod
    def _write_user(self, user: User) -> None: ...
    @abstractmethod
    def _write_changes(self, changes: list[Change]) -> None:
        """Append audit entries (called once, just before commit)."""
    @abstractmethod
    def _refresh_occupancy(self, site_id: str, occupancy) -> None:
        """Store the site's current occupancy (sites.model.current_occupancy of its surveys and units)."""
    @abstractmethod
    def _commit(self) -> None: ...
    @abstractmethod
    def _rollback(self) -> None: ...


def _unit_key(u: Unit):
    return (u.floor, u.unit_label)


def _same_site(a: Site, b: Site) -> bool:
    """Equal but for version and occupancy, geometry to 1e-9° (a spreadsheet keeps 16 digits)."""
    return a.replace(version=0, occupancy=None, geometry=None) == b.replace(version=0, occupancy=None, geometry=None) \
        and a.geometry.equals_exact(b.geometry, 1e-9)
