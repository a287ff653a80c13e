"""Keeping the inventory current in a real browser (issue #5): the editor signs in, creates a site
by clicking on the form's map, records a survey, sees the marker's colour change on the map and
both changes in the site's history.

Debian's chromium driven by Playwright, the server in its own process (liveserver.py) over a real
GeoPackage with the test accounts; any request leaving 127.0.0.1 and any page error fail the test.
The session cookie keeps the app's default (Secure): Chromium accepts it on http://127.0.0.1.
"""

import math
import re

import pytest

from tests.web.accounts import PASSWORD, add_users
from tests.web.test_browser import browser, page, shot, wait_loaded  # noqa: F401  (fixtures: page uses our server)

CLICK = (120.37, 36.065)  # lon, lat: inside 青岛市市南区, the editor's scope
UNKNOWN_COLOR = "#9e9e9e"  # sitemap.js color(): no vacancy rate (never surveyed)
HIGH_VACANCY_COLOR = "#a50026"  # sitemap.js color(): vacancy ≥ 75 %


@pytest.fixture
def server(gpkg_path, tmp_path):
    from sites.stores import open_store
    from tests.web import liveserver
    store = open_store(str(gpkg_path))
    add_users(store)
    store.close()
    env = {"SITES_TILE_URL": "/_test/tile.svg?{z}/{x}/{y}", "SITES_TILE_NAME": "Test tiles", "SITES_BASEMAPS": "custom"}
    proc, url = liveserver.start(str(gpkg_path), tmp_path, env)
    yield url
    proc.terminate()
    proc.wait(10)


def metres(a, b) -> float:
    """Distance between two (lon, lat) points, haversine."""
    (lon1, lat1), (lon2, lat2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371000 * math.asin(math.sqrt(h))


def sign_in(pg, username):
    pg.goto(f"{pg.base}/login")
    pg.fill("#username", username)
    pg.fill("#password", PASSWORD)
    pg.click("form button[type=submit]")
    pg.wait_for_url(lambda u: "/login" not in u)


def click_on_picker(pg, lon, lat):
    pg.locator("#placepicker").scroll_into_view_if_needed()
    pg.wait_for_function("window.PLACEPICKER !== undefined")
    x, y = pg.evaluate("""([lon, lat]) => {
        const p = window.PLACEPICKER.latLngToContainerPoint([lat, lon]);
        const box = window.PLACEPICKER.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y]; }""", [lon, lat])
    pg.mouse.click(x, y)
    pg.wait_for_function("document.getElementById('placepicker').dataset.picked === '1'")


def marker_colour(pg, site_id) -> tuple[str, tuple[int, int, int]]:
    """The marker's fill colour on the map around the site: the Leaflet option, and the RGB drawn at
    the marker's centre on the map's canvas (folium's map draws vector layers on a canvas)."""
    pg.goto(f"{pg.base}/?f=html&city=青岛市&view={CLICK[1]},{CLICK[0]},16")
    wait_loaded(pg)
    sample = """(id) => {
        const m = window.SITEMAP.markers()[id], map = window.SITEMAP.mapRef;
        if (!m || !m._map || !m._renderer) return null;
        const canvas = m._renderer._container, at = map.latLngToContainerPoint(m.getLatLng());
        const mapBox = map.getContainer().getBoundingClientRect(), box = canvas.getBoundingClientRect();
        const scale = canvas.width / box.width;
        const x = Math.round((mapBox.left + at.x - box.left) * scale);
        const y = Math.round((mapBox.top + at.y - box.top) * scale);
        const rgba = Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data);
        return rgba[3] > 0 ? [m.options.fillColor, rgba] : null; }"""
    # the canvas is drawn on the next animation frame: wait until something is drawn there
    option, rgba = pg.wait_for_function(sample, arg=site_id).json_value()
    return option, tuple(rgba[:3])


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def close(a, b, tolerance=3) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def test_an_editor_creates_a_site_on_the_map_surveys_it_and_sees_it_in_the_history(page):
    sign_in(page, "editor")
    session = [c for c in page.context.cookies() if c["name"] == "session"]
    assert session and session[0]["secure"] and session[0]["httpOnly"]  # Secure, and kept over http://127.0.0.1

    # a new site, placed by a click on the form's map
    page.goto(f"{page.base}/sites/new")
    assert page.url.endswith("/sites/new")  # signed in: not sent back to the login page
    assert page.input_value("#lon") == "" and page.input_value("#lat") == ""
    click_on_picker(page, *CLICK)
    picked = float(page.input_value("#lon")), float(page.input_value("#lat"))
    assert metres(picked, CLICK) < 100
    assert page.input_value("#city") == "青岛市" and page.input_value("#district") == "市南区"
    page.fill("#name_zh", "浏览器测试仓库")
    page.fill("#name_en", "Browser Test Warehouse")
    page.fill("#address_zh", "测试路1号")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "editing-site-form")
    page.click("#save")
    page.wait_for_url(re.compile(r"/sites/(?!new$)[a-z0-9-]+$"))  # /sites/new itself would match [a-z0-9-]+
    site_id = page.url.rsplit("/", 1)[1]
    assert site_id == "qd-browser-test-warehouse"
    assert "浏览器测试仓库" in page.inner_text("h1")

    # the stored position is where the click was
    feature = page.request.get(f"{page.base}/collections/sites/items/{site_id}",
                               headers={"Accept": "application/geo+json"}).json()
    assert feature["geometry"]["type"] == "Point"
    assert metres(feature["geometry"]["coordinates"], CLICK) < 100

    # never surveyed: the "unknown" colour
    option, drawn = marker_colour(page, site_id)
    assert option == UNKNOWN_COLOR and close(drawn, rgb(UNKNOWN_COLOR)), (option, drawn)

    # a survey with 90 % vacancy
    page.goto(f"{page.base}/sites/{site_id}/survey")
    page.fill("#leasable_area_m2", "1000")
    page.fill("#occupied_area_m2", "100")
    page.click("#save")
    page.wait_for_url(re.compile(rf"/sites/{site_id}$"))
    option, drawn = marker_colour(page, site_id)
    assert option == HIGH_VACANCY_COLOR and close(drawn, rgb(HIGH_VACANCY_COLOR)), (option, drawn)
    shot(page, "editing-map-after-survey")

    # the history: both changes, by the editor through the web form (newest first)
    page.goto(f"{page.base}/sites/{site_id}/history?lang=en")
    entries = page.locator("article.change")
    assert entries.count() == 2
    assert [entries.nth(i).get_attribute("data-action") for i in range(2)] == ["survey", "create"]
    for i in range(2):
        assert entries.nth(i).locator(".change-user").inner_text() == "editor"
        assert entries.nth(i).locator(".change-channel").inner_text() == "Web form"
    assert {"1000", "100"} <= set(entries.nth(0).locator("td.after").all_inner_texts())  # the surveyed areas
    shot(page, "editing-history")
    page.goto(f"{page.base}/sites/{site_id}/history?lang=zh")  # ?lang=en was remembered
    assert page.locator(".change-channel").all_inner_texts() == ["网页表单", "网页表单"]
