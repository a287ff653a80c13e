"""Store benchmark: import throughput and query latency of the GeoPackage store on
synthetic inventories, beside the naive approach measured in the same run.

    python bench/store_bench.py                         # 1k, 10k and 100k sites
    python bench/store_bench.py --sizes 1000000 --out /tmp/bench

For each size N (each in its own child process, so that peak RSS is that size's):

1. load: N synthetic sites (bench/synthetic.py) into a new GeoPackage store in a
   temporary directory, through sites.importing (CSV -> plan -> apply) when that
   module exists, else directly through ``tx.put_site``/``tx.put_survey`` in one
   transaction; read and write are timed separately;
2. queries: typical planner filters (``QUERIES``) as build_query parameters, first
   page of 100 plus number_matched, as the API and the map ask; each timed
   ``--repeat`` times after one warm-up, build_query included;
3. naive: for the same queries, read the whole ``sites`` layer with geopandas and
   filter it with pandas/shapely (``--naive-repeat`` times each).  Its answer
   (number matched and first-page ids) must equal the store's, or the run stops.

Figures are printed, never asserted: this is not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: python bench/store_bench.py
    sys.path.insert(0, str(REPO))

import geopandas  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

from bench import synthetic  # noqa: E402
from sites.evaluate import EARTH_RADIUS_M, SEARCH_SEPARATOR, distance_m  # noqa: E402
from sites.query import TEXT_FIELDS, build_query, fold  # noqa: E402
from sites.stores import open_store  # noqa: E402

PAGE = 100
OLD_TOWN = (120.30, 36.04, 120.42, 36.10)  # Qingdao's old town: 市南区 and the south of 市北区
OLD_TOWN_TEXT = ",".join(f"{v:.2f}" for v in OLD_TOWN)


# --------------------------------------------------------------------------- the naive approach

def naive_read(path: Path) -> geopandas.GeoDataFrame:
    return geopandas.read_file(path, layer="sites", engine="pyogrio")


def _idle(df) -> pd.Series:
    leasable, occupied = df["occupancy_leasable_m2"], df["occupied_area_m2"]
    return np.maximum(leasable - occupied, 0.0).where(leasable.notna())


def _vacancy(df) -> pd.Series:
    leasable = df["occupancy_leasable_m2"]
    return (_idle(df) / leasable).where(leasable > 0)


def _live(df) -> pd.Series:
    """Retired sites are left out unless asked for (sites.query)."""
    return df["status"] != "retired"


def _in_box(df, bounds) -> pd.Series:
    return df.geometry.intersects(shapely.box(*bounds))


def _within_m(df, lon, lat, metres) -> pd.Series:
    """Distance as sites.evaluate.distance_m: haversine for points, its own rule for the rest."""
    points = df.geometry.geom_type == "Point"
    x, y = np.radians(shapely.get_x(df.geometry.values)), np.radians(shapely.get_y(df.geometry.values))
    lon0, lat0 = math.radians(lon), math.radians(lat)
    a = np.sin((lat0 - y) / 2) ** 2 + np.cos(y) * math.cos(lat0) * np.sin((lon0 - x) / 2) ** 2
    dist = pd.Series(2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a))), index=df.index)
    others = df.geometry[~points]
    dist[~points] = [distance_m(g, lon, lat) for g in others]
    return dist <= metres


def _text(df, text) -> pd.Series:
    needle = fold(text, ("casei",))
    hit = pd.Series(False, index=df.index)
    for name in TEXT_FIELDS:
        column = df[name]
        if name == "aliases":  # stored as JSON text
            column = column.map(lambda v: SEARCH_SEPARATOR.join(json.loads(v)) if isinstance(v, str) else v)
        hit |= column.fillna("").astype(str).str.casefold().str.contains(needle, regex=False)
    return hit


def _page(df, mask, sort: tuple[str, bool] | None = None) -> tuple[int, list[str]]:
    """number_matched and the first page's ids, ordered as the store orders (nulls last, then id)."""
    hits = df[mask.fillna(False).astype(bool)]
    if sort is None:
        ordered = hits.sort_values("id")
    else:
        name, descending = sort
        key = {"vacancy_rate": _vacancy}[name](hits)
        ordered = hits.assign(_null=key.isna(), _key=key).sort_values(
            ["_null", "_key", "id"], ascending=[True, not descending, True])
    return len(hits), ordered["id"].head(PAGE).tolist()


@dataclass(frozen=True)
class BenchQuery:
    name: str
    params: dict[str, str]
    naive: Callable[[geopandas.GeoDataFrame], tuple[int, list[str]]]


QUERIES: tuple[BenchQuery, ...] = (
    BenchQuery("attribute", {"city": "青岛市", "status": "idle"},
               lambda df: _page(df, (df["city"] == "青岛市") & (df["status"] == "idle") & _live(df))),
    BenchQuery("vacancy", {"vacancy_min": "0.5", "min_idle_area": "2000"},
               lambda df: _page(df, (_vacancy(df) >= 0.5) & (_idle(df) >= 2000) & _live(df))),
    BenchQuery("bbox", {"bbox": OLD_TOWN_TEXT},
               lambda df: _page(df, _in_box(df, OLD_TOWN) & _live(df))),
    BenchQuery("attribute + bbox", {"status": "idle,partly_idle", "bbox": OLD_TOWN_TEXT},
               lambda df: _page(df, df["status"].isin(["idle", "partly_idle"]) & _in_box(df, OLD_TOWN))),
    BenchQuery("cql2", {"filter": "gross_floor_area_m2 > 10000 AND heritage_grade <> 'none'"},
               lambda df: _page(df, (df["gross_floor_area_m2"] > 10000) & df["heritage_grade"].notna()
                                & (df["heritage_grade"] != "none") & _live(df))),
    BenchQuery("free text", {"q": "市南区1"},
               lambda df: _page(df, _text(df, "市南区1") & _live(df))),
    BenchQuery("radius 1.5 km", {"near": "120.38,36.07", "radius": "1500"},
               lambda df: _page(df, _within_m(df, 120.38, 36.07, 1500) & _live(df))),
    BenchQuery("sorted page", {"sortby": "-vacancy_rate"},
               lambda df: _page(df, _live(df), sort=("vacancy_rate", True))),
)


# --------------------------------------------------------------------------- one size

def _importer():
    """sites.importing if it can be used, else (None, why not)."""
    try:
        from sites import importing
    except ImportError as exc:
        return None, f"sites.importing is not available ({exc})"
    if not (hasattr(importing, "read") and hasattr(importing, "apply")):
        return None, "sites.importing has no read()/apply() yet"
    return importing, None


def load(n: int, seed: int, workdir: Path, how: str = "auto") -> tuple[object, dict]:
    gpkg = workdir / "bench.gpkg"
    importing, why_not = _importer() if how != "direct" else (None, "--load direct")
    if importing is None and how == "import":
        raise SystemExit(f"--load import: {why_not}")
    if importing is not None:
        csv_path = workdir / "sites.csv"
        t = time.perf_counter()
        synthetic.write_csv(csv_path, n, seed)
        prepare = time.perf_counter() - t
        t = time.perf_counter()
        plan = importing.read(csv_path)
        read = time.perf_counter() - t
        errors = list(getattr(plan, "errors", None) or [])
        if errors:
            raise SystemExit(f"the importer refused {len(errors)} synthetic rows, e.g. {errors[:3]}")
        store = open_store(str(gpkg), create=True)
        t = time.perf_counter()
        result = importing.apply(store, plan)
        write = time.perf_counter() - t
        created = getattr(result, "created", n)
        if created != n:
            raise SystemExit(f"the importer created {created} of {n} synthetic sites ({result})")
        path = "sites.importing: read(csv) then apply(store, plan)"
        read_what = "read + validate CSV into a plan"
        records = {"sites": len(getattr(plan, "sites", []) or []), "surveys": len(getattr(plan, "surveys", []) or [])}
    else:
        prepare = 0.0
        t = time.perf_counter()
        sites, surveys = synthetic.generate(n, seed)
        read = time.perf_counter() - t
        store = open_store(str(gpkg), create=True)
        t = time.perf_counter()
        with store.transaction() as tx:
            for site in sites:
                tx.put_site(site)
            for survey in surveys:
                tx.put_survey(survey)
        write = time.perf_counter() - t
        path = f"direct tx.put_site/tx.put_survey in one transaction ({why_not})"
        read_what = "generate records in memory (no file parsed)"
        records = {"sites": len(sites), "surveys": len(surveys)}
        del sites, surveys
    return store, {"path": path, "rows": n, "records": records, "prepare_s": prepare,
                   "read_s": read, "read_what": read_what, "write_s": write,
                   "read_rows_per_s": n / read if read else None, "write_rows_per_s": n / write if write else None,
                   "gpkg_mb": gpkg.stat().st_size / 2**20}


def _stats(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)), "runs": len(ms)}


def run_queries(store, gpkg: Path, repeat: int, naive_repeat: int) -> list[dict]:
    out = []
    for bq in QUERIES:
        params = {"limit": str(PAGE), **bq.params}

        page = store.query(build_query(params, district_geometry=store.district_geometry))  # warm-up
        store_s, parse_s = [], []
        for _ in range(repeat):
            t = time.perf_counter()
            q = build_query(params, district_geometry=store.district_geometry)
            parsed = time.perf_counter()
            store.query(q)
            store_s.append(time.perf_counter() - t)
            parse_s.append(parsed - t)
        ids = [s.id for s in page.sites]

        naive_s = []
        for _ in range(naive_repeat):
            t = time.perf_counter()
            matched, naive_ids = bq.naive(naive_read(gpkg))
            naive_s.append(time.perf_counter() - t)
            if matched != page.number_matched or naive_ids != ids:
                first = next((i for i, (a, b) in enumerate(zip(ids, naive_ids)) if a != b), None)
                raise SystemExit(
                    f"WRONG ANSWER for {bq.name} {bq.params}: the store matched {page.number_matched}, "
                    f"the naive filter {matched}; first pages differ at position {first} "
                    f"(store {ids[first:first + 3] if first is not None else ids[-3:]}, "
                    f"naive {naive_ids[first:first + 3] if first is not None else naive_ids[-3:]})")
        store_ms, naive_ms = _stats(store_s), _stats(naive_s)
        _progress(f"{bq.name}: store p50 {store_ms['p50']:.1f} ms, naive p50 {naive_ms['p50']:.0f} ms")
        out.append({"query": bq.name, "params": bq.params, "matched": page.number_matched,
                    "store_ms": store_ms, "build_query_ms": _stats(parse_s), "naive_ms": naive_ms,
                    "speedup": naive_ms["p50"] / store_ms["p50"] if store_ms["p50"] else None})
    return out


def _progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_size(n: int, seed: int, repeat: int, naive_repeat: int, how: str = "auto") -> dict:
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        workdir = Path(tmp)
        store, loaded = load(n, seed, workdir, how)
        _progress(f"{n:,} sites loaded: read {loaded['read_s']:.1f} s, write {loaded['write_s']:.1f} s")
        try:
            queries = run_queries(store, workdir / "bench.gpkg", repeat, naive_repeat)
        finally:
            store.close()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"n": n, "seed": seed, "repeat": repeat, "naive_repeat": naive_repeat, "load": loaded,
            "queries": queries, "peak_rss_mb": peak_kib / 1024, "load_average_after": os.getloadavg()}


# --------------------------------------------------------------------------- printing

def format_size(result: dict) -> str:
    ld = result["load"]
    lines = [
        f"== {result['n']:,} sites (seed {result['seed']}) ==",
        f"import path: {ld['path']}",
        f"  records: {ld['records']['sites']:,} sites, {ld['records']['surveys']:,} surveys; "
        f"GeoPackage {ld['gpkg_mb']:.1f} MB",
        *([f"  (the CSV of {ld['rows']:,} rows was written in {ld['prepare_s']:.2f} s, not counted)"]
          if ld["prepare_s"] else []),
        f"  read : {ld['read_s']:8.2f} s  {_rate(ld['read_rows_per_s'])} rows/s  ({ld['read_what']})",
        f"  write: {ld['write_s']:8.2f} s  {_rate(ld['write_rows_per_s'])} rows/s  (store transaction, commit included)",
        f"  total: {ld['read_s'] + ld['write_s']:8.2f} s  {_rate(ld['rows'] / (ld['read_s'] + ld['write_s']))} rows/s",
        "",
        f"| {'query':<16} | {'store p50 ms':>12} | {'store p95 ms':>12} | {'naive p50 ms':>12} | "
        f"{'speed-up ×':>10} | {'matched':>8} | {'of which build_query p50 ms':>27} |",
        f"|{'-' * 18}|{'-' * 13}:|{'-' * 13}:|{'-' * 13}:|{'-' * 11}:|{'-' * 9}:|{'-' * 28}:|",
    ]
    for q in result["queries"]:
        lines.append(f"| {q['query']:<16} | {q['store_ms']['p50']:12.2f} | {q['store_ms']['p95']:12.2f} | "
                     f"{q['naive_ms']['p50']:12.1f} | {q['speedup']:10.0f} | {q['matched']:8,} | "
                     f"{q['build_query_ms']['p50']:27.2f} |")
    lines.append(f"\npeak RSS: {result['peak_rss_mb']:.0f} MB "
                 f"(store runs: {result['repeat']} + 1 warm-up; naive runs: {result['naive_repeat']}); "
                 f"load average over the last minute: {result['load_average_after'][0]:.2f}")
    return "\n".join(lines)


def _rate(value) -> str:
    return f"{value:10,.0f}" if value else f"{'-':>10}"


def environment() -> dict:
    import pyogrio
    return {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "python": platform.python_version(),
            "platform": platform.platform(), "cpus": os.cpu_count(), "sqlite": sqlite3.sqlite_version,
            "gdal": pyogrio.__gdal_version_string__, "geopandas": geopandas.__version__,
            "shapely": shapely.__version__, "pandas": pd.__version__, "load_average": os.getloadavg()}


def format_legend() -> str:
    lines = ["queries (build_query parameters; every query asks for the first page of 100 and number_matched):"]
    lines += [f"  {q.name:<16} {json.dumps(q.params, ensure_ascii=False)}" for q in QUERIES]
    lines.append("store: build_query + GeoPackageStore.query; naive: geopandas.read_file(layer='sites') "
                 "+ pandas/shapely filter, sort and first page")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line

def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s.replace("_", "")) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers") from None
    if not sizes or any(not 1 <= s <= 10_000_000 for s in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be between 1 and 10000000, got {text!r}")
    return sizes


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=_sizes, default=[1000, 10000, 100000],
                   help="comma-separated numbers of sites (default 1000,10000,100000; 1000000 takes about "
                        "half an hour, see bench/README.md)")
    p.add_argument("--repeat", type=int, default=20, help="timed runs of each store query (default 20)")
    p.add_argument("--naive-repeat", type=int, default=3, help="timed runs of each naive query (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic inventory (default 0)")
    p.add_argument("--load", choices=("auto", "import", "direct"), default="auto",
                   help="how to fill the store: import (sites.importing, from a CSV), direct (tx.put_site and "
                        "tx.put_survey from records in memory), auto (import when sites.importing exists; default)")
    p.add_argument("--out", type=Path, help="also write the results as JSON to DIR/store_bench.json")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)  # one size, in a fresh process
    p.add_argument("--child-result", type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.repeat < 1 or args.naive_repeat < 1:
        raise SystemExit("--repeat and --naive-repeat must be at least 1")
    if args.child is not None:
        result = bench_size(args.child, args.seed, args.repeat, args.naive_repeat, args.load)
        print(format_size(result), flush=True)
        args.child_result.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return 0

    env = environment()
    print(f"store benchmark {env['when']}: Python {env['python']}, SQLite {env['sqlite']}, GDAL {env['gdal']}, "
          f"{env['cpus']} CPUs ({env['platform']}); load average {env['load_average'][0]:.2f} "
          "(other work on the machine slows every figure)")
    print(format_legend(), "\n", flush=True)
    results = []
    for n in args.sizes:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            result_path = Path(f.name)
        try:
            started = time.perf_counter()
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(n),
                            "--seed", str(args.seed), "--repeat", str(args.repeat),
                            "--naive-repeat", str(args.naive_repeat), "--load", args.load,
                            "--child-result", str(result_path)],
                           check=True)
            result = json.loads(result_path.read_text(encoding="utf-8"))
            result["wall_s"] = time.perf_counter() - started
            print(f"(size {n:,} took {result['wall_s']:.0f} s in all)\n", flush=True)
            results.append(result)
        except subprocess.CalledProcessError as exc:
            print(f"size {n:,} failed (exit status {exc.returncode}); stopping", file=sys.stderr)
            return 1
        finally:
            result_path.unlink(missing_ok=True)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        target = args.out / "store_bench.json"
        target.write_text(json.dumps({"environment": env, "results": results}, ensure_ascii=False, indent=2) + "\n",
                          encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
