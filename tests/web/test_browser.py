"""The map in a real headless browser (Debian's chromium driven by Playwright).

Every request the page makes is recorded and the test fails on any that leaves
127.0.0.1.  The basemap is a local placeholder tile (TILE_URL), as an intranet
deployment would configure its own tile server.  Screenshots go to screenshots/.
"""

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, require_service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        require_service("chromium", "install Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service("playwright", "pip install -r requirements-dev.txt")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def server(gpkg_path, tmp_path):
    from tests.web import liveserver
    env = {"SITES_TILE_URL": "/_test/tile.svg?{z}/{x}/{y}", "SITES_TILE_NAME": "Test tiles",
           "SITES_BASEMAPS": "custom,osm"}
    proc, url = liveserver.start(str(gpkg_path), tmp_path, env)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 850}, locale="zh-CN")
    pg = context.new_page()
    pg.outside = []  # every request that left 127.0.0.1
    pg.errors = []

    def route(r):
        if r.request.url.startswith(server) or r.request.url.startswith("data:"):
            return r.continue_()
        pg.outside.append(r.request.url)
        return r.abort()

    pg.route("**/*", route)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.base = server
    yield pg
    assert pg.outside == [], f"requests left 127.0.0.1: {pg.outside[:5]}"
    assert pg.errors == [], pg.errors
    context.close()


def shot(pg, name):
    SHOTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"{name}.png"))


def markers(pg) -> list[str]:
    return pg.evaluate("Object.keys(window.SITEMAP.markers()).sort()")


def wait_for_count(pg, n, timeout=8000):
    pg.wait_for_function(f"Object.keys(window.SITEMAP.markers()).length === {n}", timeout=timeout)


def open_map(pg, query="city=青岛市&view=36.10,120.40,11"):
    pg.goto(f"{pg.base}/?f=html&{query}")
    wait_loaded(pg)


def wait_loaded(pg):
    pg.wait_for_function("window.SITEMAP && window.SITEMAP.markers && document.getElementById('count') && "
                         "document.getElementById('count').textContent !== ''")


def popup_text(pg, expected: str) -> str:
    """The open popup's text (an older popup may still be fading out beside it)."""
    pg.wait_for_function("(t) => [...document.querySelectorAll('.leaflet-popup-content')]"
                         ".some(e => e.innerText.includes(t))", arg=expected, timeout=8000)
    return next(t for t in pg.locator(".leaflet-popup-content").all_inner_texts() if expected in t)


def test_map_shows_the_sites_of_the_view_and_loads_nothing_from_outside(page):
    open_map(page)
    # Qingdao, zoomed out: qd-a..qd-e (qd-f is retired and hidden)
    assert markers(page) == ["qd-a", "qd-b", "qd-c", "qd-d", "qd-e"]
    assert page.locator("#results li").count() == 5
    shot(page, "map")


def test_a_filter_changes_the_count_and_the_url(page):
    open_map(page)
    page.check('input[name="status"][value="idle"]')
    wait_for_count(page, 1)
    assert markers(page) == ["qd-a"]
    assert "status=idle" in page.url
    page.go_back()
    wait_for_count(page, 5)


def test_a_link_reproduces_the_filtered_view(page):
    open_map(page, "city=青岛市&view=36.10,120.40,11&vacancy_min=0.28")
    assert markers(page) == ["qd-a", "qd-d"]
    assert page.input_value('input[name="vacancy_min"]') == "0.28"


def test_clicking_a_result_opens_its_popup(page):
    open_map(page)
    page.click('#results a[data-id="qd-a"]')
    text = popup_text(page, "海聊制衣厂旧址")
    assert "海聊制衣厂旧址" in text and "Hailiao Garment Factory" in text and "延安三路109号" in text
    shot(page, "popup")


def test_a_name_with_markup_shows_as_text(page, gpkg_path):
    from sites.stores import open_store
    store = open_store(str(gpkg_path))
    with store.transaction() as tx:
        tx.put_site(store.get("qd-a").replace(name_zh="<img src=x onerror=alert(1)>厂"))
    store.close()
    open_map(page)
    page.click('#results a[data-id="qd-a"]')
    assert "<img src=x onerror=alert(1)>厂" in popup_text(page, "onerror")
    assert page.locator(".leaflet-popup-content img").count() == 0


def test_drawing_a_polygon_keeps_only_the_sites_inside(page):
    open_map(page, "city=青岛市&view=36.07,120.37,14")
    # a square around qd-a (120.38, 36.07) and qd-b (120.36, 36.06), not qd-d (120.35, 36.09)
    corners = [(120.355, 36.055), (120.39, 36.055), (120.39, 36.08), (120.355, 36.08)]
    points = page.evaluate("""(corners) => corners.map(c => {
        const p = window.SITEMAP.mapRef.latLngToContainerPoint([c[1], c[0]]);
        const box = window.SITEMAP.mapRef.getContainer().getBoundingClientRect();
        return [box.left + p.x, box.top + p.y]; })""", corners)
    page.click(".leaflet-draw-draw-polygon")
    for x, y in points:
        page.mouse.click(x, y)
        page.wait_for_timeout(120)
    page.mouse.click(*points[0])  # close the ring
    wait_for_count(page, 2)
    assert markers(page) == ["qd-a", "qd-b"]
    assert "within=" in page.url
    shot(page, "drawn-polygon")


def test_switching_to_english(page):
    open_map(page)
    page.click("#lang-switch")
    page.wait_for_url("**lang=en**")
    wait_loaded(page)
    assert "Filters" in page.inner_text("#filters")
    shot(page, "map-en")


def test_site_page_draws_its_history_chart(page):
    page.goto(f"{page.base}/sites/qd-b")
    page.wait_for_function("window.HISTORY_CHART_READY === true")
    assert page.locator("canvas#history").is_visible()
    assert "春峰里" in page.inner_text("h1")
    shot(page, "site")


def test_gaode_basemap_shifts_markers_to_gcj02(page, gpkg_path):
    """On a GCJ-02 basemap a WGS-84 point is drawn ~500 m east, as on the Gaode map."""
    open_map(page, "city=青岛市&view=36.07,120.38,15")
    wgs = page.evaluate("window.SITEMAP.markers()['qd-a'].getLatLng()")
    shifted = page.evaluate("ChinaCRS.wgs84ToGcj02(120.38, 36.07)")
    from sites.chinacrs import wgs84_to_gcj02
    lon, lat = wgs84_to_gcj02(120.38, 36.07)
    assert shifted == pytest.approx([lon, lat], abs=1e-9)  # the JS and Python conversions agree
    assert (wgs["lng"], wgs["lat"]) == pytest.approx((120.38, 36.07))


@pytest.fixture
def seed_page(browser, tmp_path):
    """The map over the store that `python -m sites init` builds from geodata/."""
    from sites.inventory import init_store
    from tests.web import liveserver
    path = tmp_path / "seed.gpkg"
    store, _ = init_store(str(path), REPO / "geodata")
    store.close()
    proc, url = liveserver.start(str(path), tmp_path, {"SITES_TILE_URL": "/_test/tile.svg?{z}/{x}/{y}",
                                                       "SITES_BASEMAPS": "custom"})
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    pg = context.new_page()
    outside = []
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith(url) else
             (outside.append(r.request.url), r.abort()))
    pg.base = url
    yield pg
    context.close()
    proc.terminate()
    proc.wait(10)
    assert outside == []


def test_the_seed_sites_are_on_the_map(seed_page):
    open_map(seed_page, "city=青岛市&view=36.07,120.36,13")
    shown = markers(seed_page)
    assert {"qd-yunxin", "qd-chunfengli"} <= set(shown)  # 云芯产业园 and 春峰里 in 市南区
    seed_page.click('#results a[data-id="qd-yunxin"]')
    assert "云芯产业园" in popup_text(seed_page, "云芯产业园")
    shot(seed_page, "seed-map")


def test_out_of_date_markers_are_outlined_on_request(browser, gpkg_path, tmp_path):
    """The checkbox outlines the sites whose latest survey is older than STALE_AFTER_DAYS or that were never
    surveyed; the popup tells the age of the latest survey."""
    from datetime import date
    from tests.web import liveserver
    days = (date.today() - date(2024, 4, 1)).days  # current: qd-a (2024-06-01), qd-d (units, 2024-07-01)
    proc, url = liveserver.start(str(gpkg_path), tmp_path, {
        "SITES_TILE_URL": "/_test/tile.svg?{z}/{x}/{y}", "SITES_BASEMAPS": "custom", "SITES_STALE_AFTER_DAYS": str(days)})
    context = browser.new_context(viewport={"width": 1400, "height": 850}, locale="zh-CN")
    pg = context.new_page()
    outside, errors = [], []
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith(url) else
             (outside.append(r.request.url), r.abort()))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.base = url
    outlined = ("Object.entries(window.SITEMAP.markers()).filter(([k, m]) => "
                "(m.options.className || '').includes('stale-marker')).map(([k]) => k).sort()")
    try:
        open_map(pg)
        assert pg.evaluate(outlined) == []
        pg.check("#highlight-stale")
        pg.wait_for_function(f"{outlined}.length === 3")
        assert pg.evaluate(outlined) == ["qd-b", "qd-c", "qd-e"]  # qd-e was never surveyed
        assert "stale=1" in pg.url and pg.locator("#stale-key").count() == 1
        pg.click('#results a[data-id="qd-b"]')
        text = popup_text(pg, "春峰里")
        assert f"{(date.today() - date(2024, 1, 1)).days} 天前" in text and "数据过期" in text
        shot(pg, "stale-highlight")
        pg.uncheck("#highlight-stale")
        pg.wait_for_function(f"{outlined}.length === 0")
    finally:
        context.close()
        proc.terminate()
        proc.wait(10)
    assert outside == [] and errors == []


def test_the_statistics_chart_scales_the_bars_to_the_idle_areas(page):
    """The bars have their own axis (a mixed chart gives them the first y axis otherwise: the 0–100 % one)."""
    page.goto(f"{page.base}/stats")
    page.wait_for_function("window.Chart && Chart.getChart('idle')")
    bars, top = page.evaluate("(() => { const c = Chart.getChart('idle');"
                              " return [Math.max(...c.data.datasets[0].data), c.scales[c.getDatasetMeta(0).yAxisID].max]; })()")
    assert bars > 100 and top >= bars
