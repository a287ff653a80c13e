"""Map benchmark: page size and time to first markers of our map page, beside two
folium maps of the same sites, in headless chromium, all in the same run.

    python bench/map_bench.py                                  # 1k, 10k and 100k sites
    python bench/map_bench.py --sizes 100000 --repeat 5 --naive-max 0

For each size N:

1. store: N synthetic sites (bench/synthetic.py) into a new GeoPackage in a temporary
   directory, through sites.importing as bench/store_bench.py does (``store_bench.load``);
2. our page: the app served by tests/web/liveserver.py in a child process with the local
   placeholder basemap (``SITES_TILE_URL=/_test/tile.svg?...``, ``SITES_BASEMAPS=custom``);
   the page is ``/`` (the map, Qingdao at zoom 12); its script loads the sites of the view from
   ``/collections/sites/items?bbox=<view>&limit=...`` (at most MAP_MAX_FEATURES) and draws
   canvas markers;
3. folium baselines, built here with folium itself from the same N sites' ``[lat, lon]``
   (a polygon site by its representative point), centred on Qingdao at zoom 12 with the same
   local basemap:
   - ``FastMarkerCluster``: ``folium.plugins.FastMarkerCluster`` of every site;
   - ``naive``: a ``folium.Marker`` per site inside a ``folium.plugins.MarkerCluster``
     (built and measured up to ``--naive-max`` sites, "skipped" beyond);
   their assets are localized with ``web.assets.localize`` and pointed at the running app's
   absolute ``/vendor/`` URLs; the HTML files are served by a small ``http.server`` on
   127.0.0.1 in this process.
4. each page is opened ``--repeat`` times (after one untimed warm-up visit of each, so the
   app has opened its store), pages interleaved, each visit in a fresh browser context with
   the HTTP cache disabled.  Measured: the HTML document's size in bytes (uncompressed, as
   served) and the time from navigation start (``performance.now()`` origin) to the first
   animation frame in which markers exist: for the folium maps a ``.leaflet-marker-icon`` or
   ``.marker-cluster`` element, for ours ``Object.keys(window.SITEMAP.markers()).length > 0``
   (our markers are drawn on canvas, not in the DOM).  The same ``requestAnimationFrame``
   probe, installed before any page script, watches all three pages.  p50 over the runs.
   For our page, its first sites request (Resource Timing) is printed too; after the first
   markers the bench waits, untimed, for the network to be idle, so that later requests are
   checked and the final number of markers is known.

The run stops with an error if any page requests anything off 127.0.0.1 (chromium is also
told to resolve no other host, so nothing can leave), if a page throws a JavaScript error,
if our page answers other than 200, shows no markers, or asks for sites without ``bbox`` or with a
``limit`` above MAP_MAX_FEATURES.  Figures are printed, never asserted: this is not a test.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: python bench/map_bench.py
    sys.path.insert(0, str(REPO))

import folium  # noqa: E402
from folium.plugins import FastMarkerCluster, MarkerCluster  # noqa: E402

from bench import store_bench, synthetic  # noqa: E402
from sites.cities import CITIES, DEFAULT_CITY  # noqa: E402
from web.assets import localize  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
        # belt and braces: no host but loopback resolves, so nothing can leave even if a page asks
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
VIEWPORT = {"width": 1400, "height": 850}
TILE_PATH = "/_test/tile.svg?{z}/{x}/{y}"
APP_ENV = {"SITES_TILE_URL": TILE_PATH, "SITES_TILE_NAME": "Test tiles", "SITES_BASEMAPS": "custom"}
ZOOM = 12  # our page opens each city at zoom 12 (web.pages.map_page)
PAGES = ("ours", "FastMarkerCluster", "naive")
SETTLE_S = 10  # after the first markers, wait at most this long for the network to be idle (not timed)

#: when markers exist, per page, and how many there are then; checked in every animation frame from before
#: the first script runs
FOLIUM_MARKERS = ("document.querySelector('.leaflet-marker-icon, .marker-cluster') !== null",
                  "document.querySelectorAll('.leaflet-marker-icon').length")
OUR_MARKERS = ("window.SITEMAP !== undefined && typeof window.SITEMAP.markers === 'function' && "
               "Object.keys(window.SITEMAP.markers()).length > 0", "Object.keys(window.SITEMAP.markers()).length")
PROBE = """(function () {
  function check() {
    var ready = false;
    try { ready = %s; } catch (e) {}
    if (ready) { window.__firstMarkers = performance.now(); window.__firstCount = %s; return; }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();"""
#: once the network is idle: our page's requests of the sites (Resource Timing; the first one brought the first
#: markers) and the markers drawn in the end
OUR_DETAILS = """() => {
  var e = performance.getEntriesByType('resource').filter(function (r) {
    return r.name.indexOf('/collections/sites/items?') >= 0; });
  var first = e[0];
  return { markers: window.__firstCount, final_markers: Object.keys(window.SITEMAP.markers()).length,
           items_urls: e.map(function (r) { return r.name; }),
           items_start: first ? first.startTime : null, items_first_byte: first ? first.responseStart : null,
           items_end: first ? first.responseEnd : null, items_bytes: first ? first.decodedBodySize : null };
}"""


class BenchError(SystemExit):
    """A run that cannot be trusted: stop loudly."""


# --------------------------------------------------------------------------- the folium baselines

def site_points(n: int, seed: int) -> list[list[float]]:
    """[lat, lon] of the N synthetic sites, the same records the store holds (a polygon by a point inside)."""
    sites, _ = synthetic.generate(n, seed)
    out = []
    for site in sites:
        g = site.geometry if site.geometry.geom_type == "Point" else site.geometry.representative_point()
        out.append([round(g.y, 6), round(g.x, 6)])
    return out


def _base_map(app_url: str) -> folium.Map:
    lon, lat = CITIES[DEFAULT_CITY].center  # as our page: the default city's centre
    m = folium.Map(location=[lat, lon], zoom_start=ZOOM, tiles=None)
    folium.TileLayer(tiles=app_url + TILE_PATH, attr="Test tiles", name="Test tiles").add_to(m)
    return m


def fast_marker_cluster_html(points: list[list[float]], app_url: str) -> str:
    m = _base_map(app_url)
    FastMarkerCluster(points).add_to(m)
    return _local_html(m, app_url)


def naive_html(points: list[list[float]], app_url: str) -> str:
    m = _base_map(app_url)
    cluster = MarkerCluster().add_to(m)
    for lat_lon in points:
        folium.Marker(lat_lon).add_to(cluster)
    return _local_html(m, app_url)


def _local_html(m: folium.Map, app_url: str) -> str:
    """The map's HTML with every asset from the running app's /vendor/ (absolute: the file is served elsewhere)."""
    localize(m)
    html = m.get_root().render()
    for attr in ("src", "href"):
        html = html.replace(f'{attr}="/vendor/', f'{attr}="{app_url}/vendor/')
    return html


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_folder(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A static file server on a free loopback port, in a thread of this process."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


# --------------------------------------------------------------------------- one visit in chromium

def visit(browser, url: str, ours: bool, timeout_s: float) -> dict:
    """Open url in a fresh context with the cache disabled; HTML bytes and ms to first markers (None: timed out)."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
    try:
        context.add_init_script(PROBE % (OUR_MARKERS if ours else FOLIUM_MARKERS))
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        outside, errors = [], []
        page.on("request", lambda r: outside.append(r.url) if not _local(r.url) else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        pending = set()  # requests not finished yet, to name what keeps the network busy
        page.on("request", lambda r: pending.add(r.url))
        page.on("requestfinished", lambda r: pending.discard(r.url))
        page.on("requestfailed", lambda r: pending.discard(r.url))
        response = page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        if response is None or response.status != 200:
            raise BenchError(f"{url} answered {response.status if response else 'nothing'}: "
                             f"{page.inner_text('body')[:300] if response else ''}")
        html_bytes = _html_bytes(response, url)
        try:
            page.wait_for_function("window.__firstMarkers !== undefined", timeout=timeout_s * 1000, polling=50)
            first_ms = page.evaluate("window.__firstMarkers")
        except Exception as exc:  # playwright's TimeoutError
            if "Timeout" not in type(exc).__name__:
                raise
            first_ms = None
        details = {}
        if first_ms is not None and ours:
            try:  # whatever our page asks for after its first markers must stay on 127.0.0.1 too
                page.wait_for_load_state("networkidle", timeout=SETTLE_S * 1000)
            except Exception as exc:
                if "Timeout" not in type(exc).__name__:
                    raise
                _progress(f"(the network was still busy {SETTLE_S} s after the first markers: {sorted(pending)[:3]})")
            details = page.evaluate(OUR_DETAILS)
        if outside:
            raise BenchError(f"{url} requested {len(outside)} URLs off 127.0.0.1, e.g. {outside[:3]}")
        if errors:
            raise BenchError(f"{url} threw JavaScript errors: {errors[:3]}")
        return {"html_bytes": html_bytes, "first_ms": first_ms, **details}
    finally:
        context.close()


def _html_bytes(response, url: str) -> int:
    """The document's size as served; chromium keeps no body above about 10 MB, so then it is fetched again."""
    from playwright.sync_api import Error

    try:
        return len(response.body())
    except Error:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/html"})) as r:
            return len(r.read())


def _local(url: str) -> bool:
    return url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:"))


# --------------------------------------------------------------------------- one size

def bench_size(browser, n: int, seed: int, repeat: int, naive_max: int, timeout_s: float,
               naive_timeout_s: float) -> dict:
    from tests.web import liveserver

    with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
        workdir = Path(tmp)
        t = time.perf_counter()
        store, loaded = store_bench.load(n, seed, workdir)
        store.close()
        _progress(f"{n:,} sites: store built in {time.perf_counter() - t:.0f} s ({loaded['path']})")

        proc, app_url = liveserver.start(str(workdir / "bench.gpkg"), workdir, APP_ENV)
        static = None
        try:
            if not app_url.startswith("http://127.0.0.1:"):
                raise BenchError(f"the live server did not start (it printed {app_url!r})")
            html_dir = workdir / "html"
            html_dir.mkdir()
            t = time.perf_counter()
            points = site_points(n, seed)
            (html_dir / "fast.html").write_text(fast_marker_cluster_html(points, app_url), encoding="utf-8")
            build = {"FastMarkerCluster": time.perf_counter() - t}
            run_naive = n <= naive_max
            if run_naive:
                t = time.perf_counter()
                (html_dir / "naive.html").write_text(naive_html(points, app_url), encoding="utf-8")
                build["naive"] = time.perf_counter() - t
            del points
            _progress("folium maps built: " + ", ".join(f"{k} {v:.1f} s" for k, v in build.items()))
            static, static_url = serve_folder(html_dir)
            urls = {"ours": app_url + "/", "FastMarkerCluster": static_url + "/fast.html"}
            if run_naive:
                urls["naive"] = static_url + "/naive.html"

            runs: dict[str, list[dict]] = {name: [] for name in urls}
            for round_ in range(repeat + 1):  # round 0: warm-up, not counted
                for name, url in urls.items():
                    if name == "naive" and runs["naive"] and runs["naive"][-1]["first_ms"] is None:
                        continue  # timed out once: do not wait again
                    r = visit(browser, url, ours=name == "ours",
                              timeout_s=naive_timeout_s if name == "naive" else timeout_s)
                    if name == "ours" and not r["first_ms"]:
                        raise BenchError(f"our page showed no markers within {timeout_s:.0f} s at {n:,} sites")
                    if name == "ours":
                        _check_view_only(r.get("items_urls") or [], n)
                    if round_ > 0 or (name == "naive" and r["first_ms"] is None):
                        runs[name].append(r)
                    _progress(f"{n:,} {name:<17} {'warm-up' if round_ == 0 else f'run {round_}'}: "
                              f"{_ms(r['first_ms'])} ms, HTML {r['html_bytes'] / 1024:,.0f} KB" + _sites_fetch(r))
        finally:
            if static is not None:
                static.shutdown()
            proc.terminate()
            proc.wait(10)

    rows = {}
    for name in PAGES:
        if name not in runs:
            rows[name] = {"skipped": True}
            continue
        times = [r["first_ms"] for r in runs[name]]
        row = {"html_bytes": runs[name][0]["html_bytes"], "runs": len(times),
               "first_ms": None if None in times else statistics.median(times)}
        if name == "ours":
            for key in ("items_start", "items_first_byte", "items_end", "markers", "final_markers", "items_bytes"):
                row[key] = statistics.median(r[key] for r in runs[name])
        rows[name] = row
    return {"n": n, "pages": rows, "naive_timeout_s": naive_timeout_s}


def _check_view_only(urls: list[str], n: int) -> None:
    """Our page must ask for the sites of its view, a page of at most MAP_MAX_FEATURES at a time."""
    if not urls:
        raise BenchError(f"our page showed markers at {n:,} sites without asking /collections/sites/items")
    for url in urls:
        query = parse_qs(urlsplit(url).query)
        limit = int(query.get("limit", ["0"])[0] or 0)
        if "bbox" not in query or not 0 < limit <= _max_features():
            raise BenchError(f"our page did not ask for its view (bbox, 0 < limit <= {_max_features()}): {url}")


def _sites_fetch(r: dict) -> str:
    if "items_end" not in r:
        return ""
    limits = ",".join(parse_qs(urlsplit(u).query)["limit"][0] for u in r["items_urls"])
    return (f"; {r['markers']} markers first, {r['final_markers']} in the end; first sites request "
            f"{r['items_start']:.0f}-{r['items_end']:.0f} ms, {r['items_bytes'] / 1024:,.0f} KB; "
            f"limits asked: {limits}")


def _max_features() -> int:
    from web.config import SETTINGS
    default = next(s.default for s in SETTINGS if s.name == "MAP_MAX_FEATURES")
    return int(os.environ.get("SITES_MAP_MAX_FEATURES", default))


# --------------------------------------------------------------------------- printing

def format_table(results: list[dict], naive_max: int) -> str:
    lines = [f"| {'N':>7} | {'page':<17} | {'HTML KB':>9} | {'first markers p50 ms':>20} | "
             f"{'speed-up vs FastMarkerCluster':>29} |",
             f"|{'-' * 8}:|{'-' * 19}|{'-' * 10}:|{'-' * 21}:|{'-' * 30}:|"]
    for result in results:
        pages = result["pages"]
        fast = pages["FastMarkerCluster"].get("first_ms")
        for name in PAGES:
            row = pages[name]
            if row.get("skipped"):
                size, first, speedup = "-", f"skipped (>{naive_max:,})", "-"
            else:
                size = f"{row['html_bytes'] / 1024:,.1f}"
                first = f"{row['first_ms']:,.0f}" if row["first_ms"] is not None \
                    else f">{result['naive_timeout_s']:g} s (timeout)"
                speedup = f"{fast / row['first_ms']:.1f}×" if fast and row["first_ms"] else "-"
            lines.append(f"| {result['n']:>7,} | {name:<17} | {size:>9} | {first:>20} | {speedup:>29} |")
    return "\n".join(lines)


def format_ours(results: list[dict]) -> str:
    lines = ["our page, p50 (ms from navigation start): its first sites request (start / first byte / end) "
             "-> first markers"]
    for result in results:
        o = result["pages"]["ours"]
        lines.append(f"  {result['n']:>7,} sites: {o['items_start']:.0f} / {o['items_first_byte']:.0f} / "
                     f"{o['items_end']:.0f} -> {o['first_ms']:.0f}; {o['markers']:.0f} markers first "
                     f"({o['final_markers']:.0f} in the end), "
                     f"response {o['items_bytes'] / 1024:,.0f} KB")
    return "\n".join(lines)


def targets(results: list[dict]) -> str:
    small = all(r["pages"]["ours"]["html_bytes"] < 300 * 1024 for r in results)
    lines = [f"target: our HTML < 300 KB at every N: {'met' if small else 'NOT MET'} "
             f"(largest {max(r['pages']['ours']['html_bytes'] for r in results) / 1024:.1f} KB)"]
    big = [r for r in results if r["n"] == 100_000]
    if big:
        p = big[0]["pages"]
        if p["FastMarkerCluster"]["first_ms"] is None:
            return "\n".join(lines + ["target at 100,000: FastMarkerCluster timed out (--timeout): no ratio"])
        ratio = p["FastMarkerCluster"]["first_ms"] / p["ours"]["first_ms"]
        lines.append(f"target: first markers >= 3x sooner than FastMarkerCluster at 100,000: "
                     f"{'met' if ratio >= 3 else 'NOT MET'} ({ratio:.1f}x)")
    return "\n".join(lines)


def _ms(value) -> str:
    return f"{value:,.0f}" if value is not None else "timeout"


def _progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- command line

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=store_bench._sizes, default=[1000, 10000, 100000],
                   help="comma-separated numbers of sites (default 1000,10000,100000)")
    p.add_argument("--repeat", type=int, default=3, help="timed visits of each page (default 3; p50 printed)")
    p.add_argument("--naive-max", type=int, default=10000,
                   help="the naive map (a Marker per site) only up to this many sites (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic inventory (default 0)")
    p.add_argument("--timeout", type=float, default=60, help="seconds to wait for markers (default 60)")
    p.add_argument("--naive-timeout", type=float, default=180,
                   help="seconds to wait for the naive map's markers; after one timeout it is not retried "
                        "(default 180)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    print(f"map benchmark {datetime.now(timezone.utc).isoformat(timespec='seconds')}: folium {folium.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} "
          "(other work on the machine slows every figure)")
    print(f"headless chromium {VIEWPORT['width']}x{VIEWPORT['height']}, fresh context per visit, cache disabled; "
          f"p50 of {args.repeat} visits after one warm-up; our page draws at most {_max_features()} sites per view\n",
          flush=True)
    results = []
    started = time.perf_counter()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        print(f"chromium {browser.version}", flush=True)
        try:
            for n in args.sizes:
                results.append(bench_size(browser, n, args.seed, args.repeat, args.naive_max, args.timeout,
                                          args.naive_timeout))
        finally:
            browser.close()
    print(format_table(results, args.naive_max))
    print()
    print(format_ours(results))
    print()
    print(targets(results))
    print(f"\n(whole run {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
