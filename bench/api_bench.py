"""API latency client: p50/p95 per query type against any OGC API – Features server,
every answer checked against an expected answer computed from the data.

    python bench/api_bench.py http://127.0.0.1:5000 --store instance/sites.gpkg
    python bench/api_bench.py http://127.0.0.1:5000 --synthetic 10000 --seed 0
    python bench/api_bench.py http://127.0.0.1:5000 --expect expected.json --repeat 30
    python bench/api_bench.py URL --store S.gpkg --write-expect expected.json   # expected only, no requests

Query types (``QUERIES``), each a GET of ``{URL}/collections/{collection}/items``
with ``limit=100`` (sequential requests over fresh connections, one warm-up round
first, then ``--repeat`` timed requests of each type):

- ``bbox``           a box over Qingdao's old town (about 10% of the sites);
- ``property``       ``status=idle`` (an equality query parameter);
- ``property-cql2``  the same condition as CQL2 text, ``filter=status = 'idle'``,
                     for servers that ignore equality parameters;
- ``cql2``           ``filter=gross_floor_area_m2 > 10000 AND status = 'idle'``;
- ``paging``         the unfiltered listing walked through its ``next`` links, 10 pages
                     of 100 (each page request is one sample);
- ``item``           ``/items/{id}`` for known ids drawn at random (seeded).

Correctness: every answer (warm-up included) is compared with the expected one:
the ids of the page in id order (ours and pygeoapi's SQL providers list by id when
no sortby is given), the ``numberMatched``, the page size, and for single items the
id, status and geometry bounds.  A page with the right count and ids that are all
in the expected set but in another order is accepted and reported as "other order".
Any other difference prints ``WRONG ANSWER`` with what differed (and a hint when
the server apparently ignored the filter) and makes the exit status 1.

The expected answers come from one of:
- ``--synthetic N --seed S``: bench/synthetic.py records, filtered in plain Python
  and shapely (independent of the project's query code);
- ``--store PATH.gpkg``: the project's own semantics, ``sites.query.build_query`` +
  ``store.query`` on the store the server reads;
- ``--expect FILE``: a JSON file written earlier with ``--write-expect``.
All three follow the API's semantics: retired sites are not listed (sites.query).

Figures are printed, never asserted: this is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

REPO = Path(__file__).resolve().parents[1]

PAGE = 100
PAGES = 10  # pages walked by the paging query
OLD_TOWN = (120.30, 36.04, 120.42, 36.10)  # Qingdao's old town: 市南区 and the south of 市北区 (as store_bench)
OLD_TOWN_TEXT = ",".join(f"{v:.2f}" for v in OLD_TOWN)
CQL2 = "gross_floor_area_m2 > 10000 AND status = 'idle'"
ITEM_SAMPLE = 200  # known ids kept in the expected answer for the item query

#: query type -> (query parameters, key of the expected answer)
QUERIES = {
    "bbox": ({"bbox": OLD_TOWN_TEXT}, "bbox"),
    "property": ({"status": "idle"}, "idle"),
    "property-cql2": ({"filter": "status = 'idle'", "filter-lang": "cql2-text"}, "idle"),
    "cql2": ({"filter": CQL2, "filter-lang": "cql2-text"}, "cql2"),
}
ORDER = ("bbox", "property", "property-cql2", "cql2", "paging", "item")
ACCEPT = "application/geo+json, application/json;q=0.9"


# --------------------------------------------------------------------------- expected answers

def expected_from_sites(sites, seed: int = 0, source: str = "records") -> dict:
    """Expected answers from site records (sites.model.Site), in plain Python + shapely."""
    from shapely.geometry import box

    window = box(*OLD_TOWN)
    listed = sorted((s for s in sites if s.status != "retired"), key=lambda s: s.id)
    answers = {
        "all": [s.id for s in listed],
        "bbox": [s.id for s in listed if window.intersects(s.geometry)],
        "idle": [s.id for s in listed if s.status == "idle"],
        "cql2": [s.id for s in listed if s.status == "idle" and s.gross_floor_area_m2 is not None
                 and s.gross_floor_area_m2 > 10000],
    }
    chosen = random.Random(seed).sample(listed, min(ITEM_SAMPLE, len(listed)))
    items = {s.id: {"status": s.status, "bounds": list(s.geometry.bounds)} for s in chosen}
    return {"source": source, "n_sites": len(sites), "answers": answers, "items": items}


def expected_from_synthetic(n: int, seed: int = 0) -> dict:
    _project_path()
    from bench import synthetic
    sites, _ = synthetic.generate(n, seed)
    return expected_from_sites(sites, seed, f"bench/synthetic.py generate({n}, seed={seed}), plain Python")


def expected_from_store(path, seed: int = 0) -> dict:
    """Expected answers through the project's own query semantics (build_query + store.query)."""
    _project_path()
    from sites.query import build_query
    from sites.stores import open_store

    store = open_store(str(path))
    try:
        def ids(params):
            q = build_query(params, district_geometry=store.district_geometry, max_limit=None)
            return [s.id for s in store.query(q.page(None, 0)).sites]

        answers = {"all": ids({}), "bbox": ids({"bbox": OLD_TOWN_TEXT}), "idle": ids({"status": "idle"}),
                   "cql2": ids({"filter": CQL2, "filter_lang": "cql2-text"})}
        chosen = random.Random(seed).sample(answers["all"], min(ITEM_SAMPLE, len(answers["all"])))
        items = {}
        for site_id in chosen:
            site = store.get(site_id)
            items[site_id] = {"status": site.status, "bounds": list(site.geometry.bounds)}
        n_sites = len(ids({"include_retired": "true"}))
    finally:
        store.close()
    return {"source": f"{path}: sites.query.build_query + store.query", "n_sites": n_sites,
            "answers": answers, "items": items}


def differences(a: dict, b: dict) -> list[str]:
    """How two expected answers differ (empty when they agree)."""
    out = []
    for key in sorted(set(a["answers"]) | set(b["answers"])):
        x, y = a["answers"].get(key), b["answers"].get(key)
        if x != y:
            out.append(f"{key}: {len(x or [])} vs {len(y or [])} ids; only in the first: "
                       f"{sorted(set(x or []) - set(y or []))[:5]}, only in the second: "
                       f"{sorted(set(y or []) - set(x or []))[:5]}")
    return out


def _project_path():
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


# --------------------------------------------------------------------------- HTTP

@dataclass
class Response:
    ms: float
    status: int
    body: dict | None
    error: str | None = None


def fetch(url: str, timeout: float = 120) -> Response:
    """GET url over a fresh connection; the time covers the request and reading the whole body."""
    req = urllib.request.Request(url, headers={"Accept": ACCEPT})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    ms = (time.perf_counter() - t) * 1000
    try:
        body = json.loads(raw)
    except ValueError:
        return Response(ms, status, None, f"HTTP {status}, not JSON: {raw[:200]!r}")
    if status != 200:
        return Response(ms, status, body, f"HTTP {status}: {json.dumps(body, ensure_ascii=False)[:300]}")
    return Response(ms, status, body)


def items_url(base: str, collection: str, params: dict) -> str:
    return f"{base}/collections/{collection}/items?{urlencode(params, quote_via=quote)}"


def next_link(body: dict) -> str | None:
    for link in body.get("links", []):
        if link.get("rel") == "next" and link.get("type", "application/geo+json") != "text/html":
            return link["href"]
    return None


# --------------------------------------------------------------------------- checks

@dataclass
class Result:
    name: str
    samples: list[float] = field(default_factory=list)
    answers: int = 0
    wrong: list[str] = field(default_factory=list)  # each different wrong answer once ...
    repeats: dict[str, int] = field(default_factory=dict)  # ... and how often it came
    notes: set[str] = field(default_factory=set)
    number_matched: int | None = None
    first_ids: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        if message not in self.repeats:
            self.wrong.append(message)
        self.repeats[message] = self.repeats.get(message, 0) + 1

    @property
    def correct(self) -> bool:
        return self.answers > 0 and not self.wrong

    def p(self, q: float) -> float:
        if not self.samples:
            return math.nan
        s = sorted(self.samples)
        return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]

    def summary(self) -> dict:
        return {"name": self.name, "p50_ms": self.p(0.50), "p95_ms": self.p(0.95), "samples": len(self.samples),
                "mean_ms": statistics.fmean(self.samples) if self.samples else math.nan,
                "answers_checked": self.answers, "correct": self.correct,
                "wrong": [f"{m} (x{self.repeats[m]})" for m in self.wrong[:20]],
                "notes": sorted(self.notes), "number_matched": self.number_matched, "first_ids": self.first_ids}


def check_page(res: Result, resp: Response, expected_ids: list[str], offset: int, n_listed: int,
               label: str) -> None:
    """Compare one page of features with the expected ids (all of them, in order) at offset."""
    res.answers += 1
    if resp.error:
        res.fail(f"{label}: {resp.error}")
        return
    body = resp.body
    feats = body.get("features")
    if not isinstance(feats, list):
        res.fail(f"{label}: no 'features' list in the answer")
        return
    got = [str(f.get("id")) for f in feats]
    want = expected_ids[offset:offset + PAGE]
    matched = body.get("numberMatched")
    res.number_matched, res.first_ids = matched, got[:3]
    problems = []
    if matched is None:
        res.notes.add("no numberMatched")
    elif matched != len(expected_ids):
        hint = " (the filter was apparently ignored: that is every listed site)" \
            if matched == n_listed and len(expected_ids) != n_listed else ""
        problems.append(f"numberMatched {matched}, expected {len(expected_ids)}{hint}")
    if body.get("numberReturned") is not None and body["numberReturned"] != len(feats):
        problems.append(f"numberReturned {body['numberReturned']} but {len(feats)} features")
    if got != want:
        if len(got) == len(want) and len(set(got)) == len(got) and set(got) <= set(expected_ids):
            if not problems:
                res.notes.add("other order")
        else:
            wanted = set(expected_ids)
            extra = [i for i in got if i not in wanted]
            problems.append(f"{len(got)} features, expected {len(want)}; first ids {got[:3]}, expected {want[:3]}"
                            + (f"; {len(extra)} not matching the query, e.g. {extra[:3]}" if extra else ""))
    if problems:
        res.fail(f"{label}: " + "; ".join(problems))


def check_item(res: Result, resp: Response, site_id: str, want: dict, label: str) -> None:
    res.answers += 1
    if resp.error:
        res.fail(f"{label}: {resp.error}")
        return
    f = resp.body
    problems = []
    if str(f.get("id")) != site_id:
        problems.append(f"id {f.get('id')!r}")
    status = (f.get("properties") or {}).get("status")
    if status != want["status"]:
        problems.append(f"status {status!r}, expected {want['status']!r}")
    bounds = _bounds(f.get("geometry"))
    if bounds is None or any(abs(a - b) > 1e-9 for a, b in zip(bounds, want["bounds"])):
        problems.append(f"geometry bounds {bounds}, expected {want['bounds']}")
    res.number_matched, res.first_ids = None, [site_id]
    if problems:
        res.fail(f"{label}: " + "; ".join(problems))


def _bounds(geometry) -> list[float] | None:
    if not geometry or "coordinates" not in geometry:
        return None
    xs, ys = [], []

    def walk(c):
        if c and isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for part in c:
                walk(part)

    walk(geometry["coordinates"])
    return [min(xs), min(ys), max(xs), max(ys)] if xs else None


# --------------------------------------------------------------------------- the run

class Client:
    """Sequential requests to one server; every answer checked, timed ones collected per query type."""

    def __init__(self, base: str, expected: dict, collection: str = "sites", seed: int = 0):
        self.base, self.expected, self.collection = base.rstrip("/"), expected, collection
        self.answers = expected["answers"]
        self.n_listed = len(self.answers["all"])
        self.results = {name: Result(name) for name in ORDER}
        self.rng = random.Random(seed)
        self.item_ids = sorted(expected["items"])

    def list_query(self, name: str, timed: bool) -> None:
        params, key = QUERIES[name]
        resp = fetch(items_url(self.base, self.collection, {**params, "limit": PAGE}))
        check_page(self.results[name], resp, self.answers[key], 0, self.n_listed, name)
        if timed:
            self.results[name].samples.append(resp.ms)

    def walk(self, timed: bool, pages: int = PAGES) -> None:
        """The unfiltered listing, page after page through the next links."""
        res, all_ids = self.results["paging"], self.answers["all"]
        url, origin = items_url(self.base, self.collection, {"limit": PAGE}), _origin(self.base)
        seen: set[str] = set()
        for page in range(pages):
            resp = fetch(url)
            check_page(res, resp, all_ids, page * PAGE, self.n_listed, f"paging, page {page + 1}")
            if timed:
                res.samples.append(resp.ms)
            if resp.error:
                return
            ids = {str(f.get("id")) for f in resp.body.get("features", [])}
            if seen & ids:
                res.fail(f"paging, page {page + 1}: ids already returned on an earlier page")
            seen |= ids
            href = next_link(resp.body)
            if (page + 1) * PAGE >= len(all_ids):
                if href:
                    res.notes.add("next link on the last page")
                return
            if href is None:
                res.fail(f"paging, page {page + 1}: no next link, but {len(all_ids)} sites match")
                return
            if _origin(href) != origin:  # never follow a link off the server under test
                res.fail(f"paging, page {page + 1}: next link {href} is not on {origin}")
                return
            url = href

    def item(self, timed: bool) -> None:
        site_id = self.rng.choice(self.item_ids)
        resp = fetch(f"{self.base}/collections/{self.collection}/items/{quote(site_id, safe='')}")
        check_item(self.results["item"], resp, site_id, self.expected["items"][site_id], f"item {site_id}")
        if timed:
            self.results["item"].samples.append(resp.ms)

    def warm_up(self) -> None:
        """Every query type once or a few times: answers checked, not timed."""
        for name in QUERIES:
            self.list_query(name, timed=False)
        self.walk(timed=False, pages=2)
        for _ in range(3):
            self.item(timed=False)

    def measure(self, name: str, repeat: int) -> Result:
        """``repeat`` timed requests of one query type (paging: whole walks, about ``repeat`` pages)."""
        for _ in range(rounds(name, repeat)):
            self.once(name)
        return self.results[name]

    def once(self, name: str) -> None:
        """One timed round of a query type: one request (paging: one walk of PAGES pages)."""
        if name in QUERIES:
            self.list_query(name, timed=True)
        elif name == "paging":
            self.walk(timed=True)
        else:
            self.item(timed=True)


def rounds(name: str, repeat: int) -> int:
    """The rounds (Client.once) that make about ``repeat`` timed requests of a query type."""
    return max(1, math.ceil(repeat / PAGES)) if name == "paging" else repeat


def report(res: Result, seconds: float | None = None, label: str = "") -> list[str]:
    notes = f" ({', '.join(sorted(res.notes))})" if res.notes else ""
    took = f"  [{seconds:.1f}s]" if seconds is not None else ""
    lines = [f"  {label}{res.name:<14} p50 {res.p(0.5):8.1f} ms  p95 {res.p(0.95):8.1f} ms  n={len(res.samples):<4} "
             f"matched={res.number_matched!s:<7} ids={','.join(res.first_ids[:3])}  "
             f"{'correct' if res.correct else 'WRONG'}{notes}{took}"]
    for line in res.wrong[:5]:
        times = f" (x{res.repeats[line]})" if res.repeats[line] > 1 else ""
        lines.append(f"    WRONG ANSWER {label}{res.name}: {line}{times}")
    if len(res.wrong) > 5:
        lines.append(f"    ... and {len(res.wrong) - 5} more kinds of wrong answer")
    return lines


def run(base: str, expected: dict, repeat: int = 30, collection: str = "sites", seed: int = 0,
        log=print) -> dict[str, Result]:
    """Warm up, then time every query type; returns name -> Result (samples and checks)."""
    client = Client(base, expected, collection, seed)
    client.warm_up()
    for name in ORDER:
        t = time.perf_counter()
        for line in report(client.measure(name, repeat), time.perf_counter() - t):
            log(line)
    return client.results


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", nargs="?", help="base URL of the OGC API (landing page), e.g. http://127.0.0.1:5000")
    ap.add_argument("--repeat", type=int, default=30, help="timed requests per query type (default 30)")
    ap.add_argument("--collection", default="sites", help="collection id (default sites)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--expect", type=Path, help="expected answers: a JSON file written by --write-expect")
    src.add_argument("--store", type=Path, help="expected answers from this GeoPackage store (build_query + query)")
    src.add_argument("--synthetic", type=int, metavar="N", help="expected answers from bench/synthetic.py N sites")
    ap.add_argument("--seed", type=int, default=0, help="seed of --synthetic and of the item ids (default 0)")
    ap.add_argument("--write-expect", type=Path, metavar="FILE", help="write the expected answers to FILE")
    ap.add_argument("--out", type=Path, metavar="FILE", help="write the figures and checks as JSON to FILE")
    args = ap.parse_args(argv)

    if args.expect:
        expected = json.loads(args.expect.read_text(encoding="utf-8"))
    elif args.store:
        expected = expected_from_store(args.store, args.seed)
    else:
        expected = expected_from_synthetic(args.synthetic, args.seed)
    if args.write_expect:
        args.write_expect.write_text(json.dumps(expected, ensure_ascii=False), encoding="utf-8")
        print(f"expected answers written to {args.write_expect}")
    if not args.url:
        if args.write_expect:
            return 0
        ap.error("give the server's base URL (or only --write-expect)")

    a = expected["answers"]
    print(f"{args.url}: collection {args.collection}, {args.repeat} timed requests per query type; expected from "
          f"{expected['source']}: {len(a['all'])} listed sites, bbox {len(a['bbox'])}, idle {len(a['idle'])}, "
          f"cql2 {len(a['cql2'])}")
    results = run(args.url, expected, args.repeat, args.collection, args.seed)
    if args.out:
        args.out.write_text(json.dumps({"url": args.url, "expected_source": expected["source"],
                                        "results": [r.summary() for r in results.values()]},
                                       ensure_ascii=False, indent=1), encoding="utf-8")
    wrong = [r.name for r in results.values() if not r.correct]
    if wrong:
        sys.stdout.flush()
        print(f"WRONG ANSWERS in: {', '.join(wrong)}", file=sys.stderr)
        return 1
    print("every answer correct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
