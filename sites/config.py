"""Settings, declared as data in one place.

Each setting has a name, a default and a help text; values come from the
defaults, then an instance file (``instance/config.json``), then ``SITES_<NAME>``
environment variables.  The web app adds its own settings to this table
(web/config.py) and loads them the same way.  Secrets only come from the environment.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import SitesError

REPO = Path(__file__).resolve().parents[1]
INSTANCE = REPO / "instance"
GEODATA = REPO / "geodata"


class ConfigError(SitesError):
    code = "ConfigError"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("STORE_URL", str(INSTANCE / "sites.gpkg"),
            "Where the inventory lives: a .gpkg path (the embedded default) or memory://"),
    Setting("GEODATA_DIR", str(GEODATA), "Seed data that `python -m sites init` builds the store from"),
)


def load(settings=SETTINGS, instance_file: Path | None = None, environ=None) -> dict[str, Any]:
    """Defaults, then the instance file, then SITES_* variables; raises ConfigError naming the key."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in settings}
    by_name = {s.name: s for s in settings}
    instance_file = instance_file or INSTANCE / "config.json"
    if instance_file.exists():
        try:
            data = json.loads(instance_file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{instance_file}: not valid JSON ({exc})") from None
        for key, value in data.items():
            if key not in by_name:
                raise ConfigError(f"{instance_file}: unknown setting {key!r}")
            if by_name[key].secret:
                raise ConfigError(f"{instance_file}: {key} is a secret; set SITES_{key} in the environment")
            values[key] = value
    for s in settings:
        raw = environ.get(f"SITES_{s.name}")
        if raw is not None:
            try:
                values[s.name] = s.parse(raw)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"SITES_{s.name}: {raw!r} is not valid ({exc})") from None
    return values


def store_url(environ=None) -> str:
    return load(environ=environ)["STORE_URL"]
