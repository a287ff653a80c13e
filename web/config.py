"""The web app's settings: the domain's (sites.config.SETTINGS) plus its own,
loaded the same way (defaults, instance/config.json, SITES_* variables)."""

from __future__ import annotations

import secrets

from sites import config as sites_config, schema
from sites.schema import CONFIDENTIAL_DEFAULT
from sites.accounts import ROLES
from sites.config import ConfigError, Setting
from sites.terms import TEXT_FIELDS


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("use true or false")


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


SETTINGS = sites_config.SETTINGS + (
    Setting("SECRET_KEY", None, "Signs session cookies; set SITES_SECRET_KEY in production "
            "(a random key is made per process otherwise)", secret=True),
    Setting("BASEMAPS", "osm,gaode,gaode_satellite",
            "Basemaps offered on the maps, first shown first: osm, gaode, gaode_satellite, tianditu, custom"),
    Setting("TIANDITU_KEY", "", "A Tianditu (天地图) browser key; when set, Tianditu is offered"),
    Setting("TILE_URL", "", "An intranet tile server, e.g. http://tiles.intranet/{z}/{x}/{y}.png; "
            "when set it is offered first"),
    Setting("TILE_NAME", "", "The name of the intranet basemap in the layer switcher"),
    Setting("TILE_ATTRIBUTION", "", "The attribution shown for the intranet basemap"),
    Setting("TILE_CRS", "wgs84", "wgs84 or gcj02: the coordinate system of the intranet tiles"),
    Setting("MAP_MAX_FEATURES", 2000, "At most this many sites are drawn for one view (the largest idle areas "
            "first); zoom in to see the rest", int),
    Setting("DEFAULT_LANGUAGE", "zh", "zh or en"),
    Setting("SESSION_COOKIE_SECURE", True, "Send the login cookie over HTTPS only. Browsers accept it over plain "
            "HTTP on 127.0.0.1/localhost; on an intranet served over plain HTTP set false", _bool),
    Setting("CONFIDENTIAL_FIELDS", CONFIDENTIAL_DEFAULT,
            "Fields only signed-in users of CONFIDENTIAL_ROLE or above may see, comma-separated (site fields, "
            "and tenant for the units' tenant names); for everyone else they never leave the server", _names),
    Setting("CONFIDENTIAL_ROLE", "viewer", "The least role that sees confidential fields: viewer, editor or admin"),
    Setting("LOGIN_MAX_FAILURES", 5, "Failed logins in a row that lock an account", int),
    Setting("LOGIN_LOCKOUT_MINUTES", 15, "How long a locked account stays locked", int),
    Setting("STALE_AFTER_DAYS", 365, "A site whose latest survey is older than this many days is out of date "
            "(highlighted on the map, counted on /stats)", int),
    Setting("UPLOAD_MAX_MB", 50, "The largest file the upload page accepts, in MB", int),
    Setting("UPLOAD_DIR", str(sites_config.INSTANCE / "uploads"),
            "Where uploaded files wait between the dry run and the commit (removed after a day)"),
)
#: confidential fields may be any optional stored site field that free-text search does not look in
#: (a search for a word would tell who may not see an address whether it is there), or the units' tenant
CONFIDENTIAL_CHOICES = tuple(f.name for f in schema.STORED if not f.required and f.name != "version"
                             and f.name not in TEXT_FIELDS) + ("tenant",)


def load(test_config: dict | None = None) -> dict:
    values = sites_config.load(SETTINGS)
    if values["SECRET_KEY"] is None:
        values["SECRET_KEY"] = secrets.token_hex(32)
    values.update(test_config or {})
    check(values)
    return values


def check(values: dict) -> None:
    """Start-up validation, each message naming the setting."""
    fields = values["CONFIDENTIAL_FIELDS"]  # a list in config.json or a test's config, text in the environment
    values["CONFIDENTIAL_FIELDS"] = fields = frozenset(_names(fields) if isinstance(fields, str) else fields)
    wrong = sorted(fields - set(CONFIDENTIAL_CHOICES))
    if wrong:
        raise ConfigError(f"CONFIDENTIAL_FIELDS: {', '.join(wrong)} cannot be confidential; choose from "
                          f"{', '.join(CONFIDENTIAL_CHOICES)}")
    if values["CONFIDENTIAL_ROLE"] not in ROLES:
        raise ConfigError(f"CONFIDENTIAL_ROLE: {values['CONFIDENTIAL_ROLE']!r} is not one of {', '.join(ROLES)}")
    for name in ("LOGIN_MAX_FAILURES", "LOGIN_LOCKOUT_MINUTES", "STALE_AFTER_DAYS", "UPLOAD_MAX_MB"):
        if not isinstance(values[name], int) or values[name] < 1:
            raise ConfigError(f"{name}: must be a whole number ≥ 1, got {values[name]!r}")
    values["MAX_CONTENT_LENGTH"] = values["UPLOAD_MAX_MB"] * 1024 * 1024
