"""The README is a contract: every setting, filter parameter and API route is documented."""

from pathlib import Path

import pytest

from sites.query import PARAMS
from web.config import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [s.name for s in SETTINGS])
def test_every_setting_is_documented(name):
    assert f"`{name}`" in README and f"`SITES_{name}`" in README


@pytest.mark.parametrize("name", [p.name for p in PARAMS])
def test_every_filter_parameter_is_documented(name):
    assert f"`{name}`" in README


def test_every_api_route_is_documented():
    from web import create_app
    app = create_app({"STORE_URL": "memory://", "SECRET_KEY": "x"})
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and not rule.rule.endswith("/"):
            documented = rule.rule.replace("<cid>", "{id}").replace("<fid>", "{featureId}")
            variants = {documented, documented.replace("{id}", "sites")}
            assert any(f"`GET {v}" in README or f"`GET {v}`" in README for v in variants), rule.rule


def test_the_two_commands_are_there():
    assert "make serve" in README and "make test" in README
