"""The map pages through the test client: nothing loaded from outside, small pages, every page answers."""

import re

import folium
import pytest
from shapely.geometry import Point, box

from web import assets
from web.maps import basemaps, build_site_minimap, build_sites_map, map_parts

ASSET = re.compile(r"""<(?:script|link|img)\b[^>]*?(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)
CSS_URL = re.compile(r"url\(\s*['\"]?(https?:[^)'\"]+)", re.I)
HTML = {"Accept": "text/html"}


def external_assets(html: str) -> list[str]:
    found = [u for u in ASSET.findall(html) if re.match(r"(https?:)?//", u)]
    return found + CSS_URL.findall(html)


def rendered(built) -> str:
    p = map_parts(built)
    return p["map_header"] + p["map_html"] + p["map_script"]


@pytest.mark.parametrize("build", [
    lambda: build_sites_map({"BASEMAPS": "osm,gaode,gaode_satellite"}, "zh", (120.38, 36.07)),
    lambda: build_sites_map({"TIANDITU_KEY": "k", "TILE_URL": "http://tiles.local/{z}/{x}/{y}.png"}, "en", (108.9, 34.3)),
    lambda: build_site_minimap({}, "zh", Point(120.38, 36.07)),
    lambda: build_site_minimap({}, "en", box(118.7, 32.0, 118.8, 32.1)),
], ids=["sites", "sites-tianditu-intranet", "minimap-point", "minimap-area"])
def test_every_map_the_app_builds_loads_only_local_assets(build):
    html = rendered(build())
    assert external_assets(html) == []
    assert "/vendor/leaflet.js" in html


def test_localize_leaves_folium_classes_alone():
    build_sites_map({}, "zh", (120.38, 36.07))
    assert folium.Map.default_js[0][1].startswith("https://")  # the class list is untouched


def test_localize_refuses_an_asset_it_does_not_know():
    m = folium.Map(tiles=None)
    m.default_js = [("mystery", "https://cdn.example/x.js")]
    with pytest.raises(KeyError, match="mystery"):
        assets.localize(m)


@pytest.mark.parametrize("name", sorted(assets.VENDOR))
def test_every_vendored_asset_is_installed_and_served(client, name):
    r = client.get(f"/vendor/{name}")
    assert r.status_code == 200, f"{name}: run `make` (npm ci)"


@pytest.mark.parametrize("url", ["/?f=html", "/?f=html&lang=en", "/sites/qd-b", "/sites/nj-h", "/compare", "/stats",
                                 "/collections/sites/items?f=html", "/api.html", "/vacancy/candidates?f=html"])
def test_pages_load_nothing_from_outside(client, url):
    r = client.get(url, headers=HTML)
    assert r.status_code == 200
    assert external_assets(r.get_data(as_text=True)) == []


def test_the_map_page_carries_no_site_data_and_stays_small(client):
    html = client.get("/?f=html", headers=HTML).get_data(as_text=True)
    assert len(html.encode()) < 300_000
    assert "海聊制衣厂旧址" not in html  # sites come from the API, per view


def test_bad_filters_in_the_map_url_are_a_400_page(client):
    r = client.get("/?f=html&vacancy_min=seven", headers=HTML)
    assert r.status_code == 400 and "vacancy_min" in r.get_data(as_text=True)


def test_chinese_by_default_english_by_switch(client):
    assert "筛选" in client.get("/?f=html", headers=HTML).get_data(as_text=True)
    r = client.get("/?f=html&lang=en", headers=HTML)
    assert "Filters" in r.get_data(as_text=True) and "lang=en" in r.headers["Set-Cookie"]
    assert "Filters" in client.get("/?f=html", headers=HTML).get_data(as_text=True)  # remembered


def test_site_page_has_history_units_and_attributes(client):
    html = client.get("/sites/qd-d", headers=HTML).get_data(as_text=True)
    assert "北岭大楼" in html and "unit-leased" in html and "unit-vacant_available" in html
    assert "/vendor/chart.js" in html and "2022-01-01" in html


def test_unknown_site_page_is_404(client):
    assert client.get("/sites/nope", headers=HTML).status_code == 404


def test_compare_lists_qingdao_and_the_benchmark_cities(client):
    html = client.get("/compare", headers=HTML).get_data(as_text=True)
    for city in ("青岛市", "西安市", "南京市", "宁波市"):
        assert city in html


@pytest.mark.parametrize("fmt,media", [("csv", "text/csv"), ("geojson", "application/geo+json"),
                                       ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])
def test_export_of_the_current_selection(client, fmt, media):
    r = client.get(f"/export?format={fmt}&city=青岛市&status=idle")
    assert r.status_code == 200 and r.mimetype == media
    assert "attachment" in r.headers["Content-Disposition"]
    if fmt == "geojson":
        assert [f["id"] for f in r.get_json()["features"]] == ["qd-a"]


def test_export_rejects_an_unknown_format(client):
    r = client.get("/export?format=pdf")
    assert r.status_code == 400 and "format" in r.get_json()["description"]


def test_intranet_tiles_come_first_and_tianditu_needs_a_key():
    keys = [b.key for b in basemaps({"BASEMAPS": "osm,gaode", "TILE_URL": "http://tiles/{z}/{x}/{y}.png"})]
    assert keys == ["custom", "osm", "gaode"]
    assert "tianditu" not in [b.key for b in basemaps({"BASEMAPS": "tianditu,osm"})]
    assert [b.crs for b in basemaps({"BASEMAPS": "gaode"})] == ["gcj02"]
