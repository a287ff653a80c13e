"""The web app's settings: the domain's (sites.config.SETTINGS) plus its own,
loaded the same way (defaults, instance/config.json, SITES_* variables)."""

from __future__ import annotations

import secrets

from sites import config as sites_config
from sites.config import Setting

SETTINGS = sites_config.SETTINGS + (
    Setting("SECRET_KEY", None, "Signs session cookies; set SITES_SECRET_KEY in production "
            "(a random key is made per process otherwise)", secret=True),
)


def load(test_config: dict | None = None) -> dict:
    values = sites_config.load(SETTINGS)
    if values["SECRET_KEY"] is None:
        values["SECRET_KEY"] = secrets.token_hex(32)
    values.update(test_config or {})
    return values
