"""How current the data is: /stats per city and district, and the map's out-of-date highlight setting.

The canonical inventory's latest surveys (tests/canonical.py): qd-a 2024-06-01, qd-b 2024-01-01,
qd-c 2024-03-01, qd-d 2024-07-01 (its units' latest update), qd-e never surveyed; qd-f is retired
and not counted.  STALE_AFTER_DAYS is set so that the cut falls on 2024-04-01 whatever today is.
"""

import json
import re
from datetime import date
from statistics import median

import pytest

from sites.audit import Actor
from sites.model import Survey
from sites.stores import open_store
from web import create_app

CUT = date(2024, 4, 1)


def days_since(d: date) -> int:
    return (date.today() - d).days


@pytest.fixture
def app(gpkg_path):
    return create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test",
                       "STALE_AFTER_DAYS": days_since(CUT)})


def freshness(client) -> dict[tuple[str, str], dict]:
    html = client.get("/stats?lang=en").get_data(as_text=True)
    table = html.split('id="freshness-table"')[1].split("</table>")[0]
    out = {}
    for city, district, body in re.findall(r'<tr data-city="([^"]*)" data-district="([^"]*)"[^>]*>(.*?)</tr>', table,
                                           re.S):
        cells = dict(re.findall(r'<td class="num (dated|median-age|stale|never)">([^<]*)</td>', body))
        out[(city, district)] = cells
    return out


def median_age(*dates) -> str:
    return str(round(median(days_since(d) for d in dates)))


def test_stats_count_out_of_date_and_never_surveyed_sites_per_city_and_district(client):
    rows = freshness(client)
    a, b, c, d = date(2024, 6, 1), date(2024, 1, 1), date(2024, 3, 1), date(2024, 7, 1)
    assert rows[("青岛市", "")] == {"dated": "4", "stale": "2", "never": "1", "median-age": median_age(a, b, c, d)}
    assert rows[("青岛市", "市南区")] == {"dated": "2", "stale": "1", "never": "0", "median-age": median_age(a, b)}
    assert rows[("青岛市", "城阳区")] == {"dated": "0", "stale": "0", "never": "1", "median-age": "—"}
    assert rows[("南京市", "秦淮区")]["never"] == "1"


def test_a_new_survey_makes_a_site_current(client, gpkg_path):
    with open_store(str(gpkg_path)) as store, store.transaction(Actor("test", "cli")) as tx:
        tx.put_survey(Survey("qd-b", date.today(), 8000, 7000, 14, "test", "sample"))
    rows = freshness(client)
    assert rows[("青岛市", "市南区")]["stale"] == "0" and rows[("青岛市", "")]["stale"] == "1"


def test_stats_name_the_setting_and_its_value(client, app):
    html = client.get("/stats?lang=en").get_data(as_text=True)
    assert "STALE_AFTER_DAYS" in html and f"Older than {app.config['STALE_AFTER_DAYS']} days" in html


def test_stats_follow_the_filters(client):
    html = client.get("/stats?city=西安市").get_data(as_text=True)
    table = html.split('id="freshness-table"')[1]
    assert "西安市" in table and "青岛市" not in table


def test_the_map_config_carries_the_stale_setting(gpkg_path):
    app = create_app({"STORE_URL": str(gpkg_path), "TESTING": True, "SECRET_KEY": "test", "STALE_AFTER_DAYS": 30})
    html = app.test_client().get("/?f=html").get_data(as_text=True)
    config = json.loads(re.search(r"window\.SITEMAP = (\{.*?\});\n", html).group(1))
    assert config["staleAfterDays"] == 30


def test_the_map_script_offers_the_highlight_and_loads_the_survey_date(client):
    js = client.get("/static/js/sitemap.js").get_data(as_text=True)
    assert 'id="highlight-stale"' in js and "cfg.staleAfterDays" in js
    shown = re.search(r"var SHOWN = \[(.*?)\]", js, re.S).group(1)
    assert '"survey_date"' in shown  # the popup's age and the highlight need it
