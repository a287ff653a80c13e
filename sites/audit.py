"""The audit trail: who changed what, when, and through which channel.

Every change a store transaction makes to a site, its surveys, its units or a
user account is recorded as one ``Change``, in the same transaction as the
change itself (sites.stores.base.Writer does it; no write path can skip it).
A write that changes nothing records nothing.

before / after
    JSON-ready values.  A new site records its whole record as ``after``; an
    edit records only the fields that changed, old values in ``before`` and new
    ones in ``after``; a survey records the survey of that date before and after;
    units record the site's whole unit list before and after.  Account changes
    never record password hashes or tokens, only that they changed.
batch
    One id per transaction, so the rows of one upload or import can be found together.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .accounts import User
from .errors import ValidationError
from .model import Site, Survey, Unit
from .schema import STORED, to_json_value

#: value -> (Chinese label, English label)
CHANNELS = {
    "form": ("网页表单", "Web form"),
    "upload": ("网页上传", "Web upload"),
    "api": ("API", "API"),
    "cli": ("命令行", "Command line"),
}
ACTIONS = {
    "create": ("新建载体", "Site created"),
    "update": ("修改载体", "Site edited"),
    "retire": ("载体退出", "Site retired"),
    "survey": ("入驻调查", "Occupancy survey"),
    "units": ("楼层单元", "Units"),
    "user": ("用户账户", "User account"),
}
_SITE_FIELDS = tuple(f.name for f in STORED if f.name != "version")


@dataclass(frozen=True)
class Actor:
    """Who is writing, and through which channel."""

    user: str
    channel: str

    def __post_init__(self):
        if self.channel not in CHANNELS:
            raise ValidationError(f"{self.channel!r} is not one of {', '.join(CHANNELS)}", field="channel")
        if not self.user:
            raise ValidationError("is required", field="user")

    @classmethod
    def command_line(cls, user: str | None = None) -> "Actor":
        """The person at the terminal: --user, else the operating-system account."""
        return cls(user or _os_user(), "cli")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


@dataclass(frozen=True)
class Change:
    at: datetime  # UTC, to the second
    user: str
    channel: str
    action: str
    site_id: str | None  # None for account changes
    subject: str | None  # what within the site: a survey date, "units"; the username for accounts
    before: Any
    after: Any
    batch: str
    version: int | None = None  # the site's version after a site change
    id: int | None = None  # assigned by the store

    def fields(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for each value that differs, for display."""
        before = self.before if isinstance(self.before, dict) else {}
        after = self.after if isinstance(self.after, dict) else {}
        if not isinstance(self.before, (dict, type(None))) or not isinstance(self.after, (dict, type(None))):
            return [(self.subject or self.action, self.before, self.after)]
        names = list(dict.fromkeys([*before, *after]))
        return [(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]


def site_record(site: Site) -> dict[str, Any]:
    """A site's stored values, JSON-ready, geometry as WKT (7 decimals, about 1 cm)."""
    out = {name: to_json_value(getattr(site, name)) for name in _SITE_FIELDS}
    out["geometry"] = _wkt(site.geometry)
    return out


def delta(a: dict, b: dict) -> tuple[dict, dict]:
    """The keys whose values differ: (a's values, b's values)."""
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k)]
    return {k: a.get(k) for k in keys}, {k: b.get(k) for k in keys}


def site_delta(old: Site, new: Site) -> tuple[dict, dict]:
    """The fields that changed: (old values, new values)."""
    return delta(site_record(old), site_record(new))


def user_delta(old: User, new: User) -> tuple[dict, dict]:
    """The account fields that changed; a new password or token shows only as "changed"."""
    a = old.record()
    before, after = delta(a, new.record())
    for secret, was, now in (("password", old.password_hash, new.password_hash),
                             ("token", old.token_hash, new.token_hash)):
        if was != now:
            before[secret], after[secret] = a[secret], "changed"
    return before, after


def survey_record(s: Survey | None) -> dict | None:
    if s is None:
        return None
    return {"survey_date": s.survey_date.isoformat(), "leasable_area_m2": s.leasable_area_m2,
            "occupied_area_m2": s.occupied_area_m2, "tenant_count": s.tenant_count, "source": s.source,
            "data_status": s.data_status}


def units_record(units: list[Unit]) -> list[dict]:
    return [{"floor": u.floor, "unit_label": u.unit_label, "area_m2": u.area_m2, "status": u.status,
             "tenant": u.tenant, "updated_on": u.updated_on.isoformat() if u.updated_on else None}
            for u in sorted(units, key=lambda u: (u.floor, u.unit_label))]


def _wkt(geom) -> str:
    from shapely import wkt
    return wkt.dumps(geom, rounding_precision=7, trim=True)


@dataclass(frozen=True)
class ChangeFilter:
    """Which changes to list (every field optional); newest first."""

    site_id: str | None = None
    user: str | None = None
    channel: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    batch: str | None = None
    city: str | None = None  # changes of the sites now in this city
    sites_only: bool = False  # leave account changes out
    limit: int | None = 100
    offset: int = 0

    def matches(self, c: Change, city_of=lambda site_id: None) -> bool:
        return ((self.site_id is None or c.site_id == self.site_id)
                and (not self.sites_only or c.site_id is not None)
                and (self.city is None or (c.site_id is not None and city_of(c.site_id) == self.city))
                and (self.user is None or c.user == self.user)
                and (self.channel is None or c.channel == self.channel)
                and (self.action is None or c.action == self.action)
                and (self.since is None or c.at >= self.since)
                and (self.until is None or c.at < self.until)
                and (self.batch is None or c.batch == self.batch))
