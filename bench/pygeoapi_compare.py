"""Our OGC API against pygeoapi (PostgreSQL provider) on the same synthetic sites, in one run.

    .venv/bin/python bench/pygeoapi_compare.py                      # 1k, 10k and 100k sites
    .venv/bin/python bench/pygeoapi_compare.py --sizes 1000 --repeat 10 --out bench/results

For each size N:

1. ``bench/synthetic.py generate(N, seed)``: the sites, written to a new GeoPackage
   store (``tx.put_site`` / ``tx.put_survey`` in one transaction);
2. the expected answers of every query (bench/api_bench.py), computed twice: from
   the records in plain Python and through our store (build_query + query); the two
   must agree, else the run says so and our server is marked wrong;
3. our server (``web.create_app``) in its own process on 127.0.0.1;
4. the same store loaded into a throwaway PostgreSQL/PostGIS cluster with
   ``ogr2ogr`` (retired sites left out, as our API lists them; the same B-tree
   indexes as our store plus GiST and the unique id), then pygeoapi with its
   PostgreSQL provider over that table, in its own process on 127.0.0.1;
5. the api_bench client against each, query type by query type, the two servers in
   turn ``BLOCK`` requests at a time: p50/p95 per query type and every answer checked.

Both apps run under the same WSGI server (``--server``: werkzeug's ``run_simple``,
gunicorn's sync worker or granian; one process, one request at a time unless
``--threaded``, request log off), so the difference is the application.  Nothing
listens on anything but 127.0.0.1; every process started here is stopped at the end,
and the cluster and stores are removed (unless ``--keep``).

Tools it needs, installed when missing and running as root (Debian): ``postgresql``
and ``postgresql-<major>-postgis-3``, ``gdal-bin`` (ogr2ogr).  pygeoapi goes into its
own venv under /tmp (``PYGEOAPI_PINS``, the servers included), never into the project's
environment, whose servers come from requirements-dev.txt; it needs Python >= 3.12 (found
on PATH, in ~/.pyenv, or given with ``--pygeoapi-python``).

Figures are printed, never asserted.  The exit status is 1 when an answer was wrong.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: python bench/pygeoapi_compare.py
    sys.path.insert(0, str(REPO))

from bench import api_bench, synthetic  # noqa: E402
from sites.stores import open_store  # noqa: E402

#: the WSGI servers both apps can run under (--server), pinned; ours come from requirements-dev.txt
SERVER_PINS = {"gunicorn": "gunicorn==27.0.1", "granian": "granian==2.8.7"}
SERVERS = ("werkzeug", *SERVER_PINS)
#: pygeoapi and what its PostgreSQL provider imports, pinned (the versions this was measured with)
PYGEOAPI_PINS = ("pygeoapi==0.24.0", "SQLAlchemy==2.1.9", "GeoAlchemy2==0.20.0", "psycopg2-binary==2.9.13",
                 "pygeofilter==0.4.0", "Flask==3.1.3", "Werkzeug==3.1.9", *SERVER_PINS.values())
PYGEOAPI_MIN_PYTHON = (3, 12)  # pygeoapi 0.22 and later
TARGET = 5.0  # the speed-up the issue asks for: ours p50 at least 5x lower
BLOCK = 10  # requests in a row to one server before the other's turn (paging: one walk of 10 pages)

SERVE = '''\
import os
import sys

if os.environ["BENCH_APP"] == "ours":
    sys.path.insert(0, os.environ["BENCH_REPO"])
    from web import create_app
    app = create_app({"STORE_URL": os.environ["BENCH_STORE"], "SECRET_KEY": "bench"})
else:  # PYGEOAPI_CONFIG and PYGEOAPI_OPENAPI are in the environment
    from pygeoapi.flask_app import APP as app

if __name__ == "__main__":  # werkzeug's development server; gunicorn and granian import app from here
    from werkzeug.serving import WSGIRequestHandler, run_simple

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=sys.argv[2] == "threaded", request_handler=Quiet)
'''


def serve_command(server: str, python: str, workdir: Path, port: int, threaded: bool) -> list[str]:
    """The command that serves serve.py's app on 127.0.0.1:port: one process, one request at a time
    (or a pool of 8 threads when threaded), no access log."""
    if server == "werkzeug":
        return [python, str(workdir / "serve.py"), str(port), "threaded" if threaded else "single"]
    if server == "gunicorn":  # the sync worker, or gthread with 8 threads
        return [python, "-m", "gunicorn", "--workers", "1", "--threads", "8" if threaded else "1",
                "--bind", f"127.0.0.1:{port}", "--chdir", str(workdir), "--log-level", "warning", "serve:app"]
    return [python, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--blocking-threads", "8" if threaded else "1", "--no-ws", "--log-level", "warning",
            "--working-dir", str(workdir), "serve:app"]


PYGEOAPI_CONFIG = """\
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  pretty_print: false
  limits: {{default_items: 100, max_items: 10000}}
  map: {{url: "http://127.0.0.1/none/{{z}}/{{x}}/{{y}}.png", attribution: none}}
logging:
  level: ERROR
metadata:
  identification:
    title: sites benchmark
    description: synthetic urban-renewal sites (bench/synthetic.py)
    keywords: [sites]
    keywords_type: theme
    terms_of_service: none
    url: http://127.0.0.1
  license: {{name: none, url: http://127.0.0.1}}
  provider: {{name: bench, url: http://127.0.0.1}}
  contact: {{name: bench}}
resources:
  sites:
    type: collection
    title: sites
    description: synthetic urban-renewal sites
    keywords: [sites]
    extents:
      spatial:
        bbox: [103, 29, 122, 37]
        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: 127.0.0.1, port: {pg_port}, dbname: sites, user: postgres, password: "", search_path: [public]}}
        id_field: id
        table: sites
        geom_field: geom
"""


def say(*args):
    print(*args, flush=True)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    """Run a command; on failure, stop with the command and its output."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    p = subprocess.run(cmd, **kw)
    if p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stdout or ''}{p.stderr or ''}")
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- tools

def _apt_install(packages: list[str]) -> None:
    if os.geteuid() != 0:
        raise SystemExit(f"missing: {', '.join(packages)}; install them (apt-get install {' '.join(packages)}) "
                         "or run this as root")
    say(f"installing Debian packages: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", *packages], env=env, capture_output=True).returncode:
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "install", "-y", "-q", *packages], env=env)


def pg_bindir() -> Path:
    """The newest PostgreSQL server binaries with PostGIS, installing them when missing."""
    def found():
        dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        return Path(dirs[-1]).parent if dirs else None

    bindir = found()
    if bindir is None:
        _apt_install(["postgresql"])
        bindir = found()
    major = bindir.parent.name
    if not Path(f"/usr/share/postgresql/{major}/extension/postgis.control").exists():
        _apt_install([f"postgresql-{major}-postgis-3"])
    if shutil.which("ogr2ogr") is None:
        _apt_install(["gdal-bin"])
    return bindir


def _python_version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def find_python(given: str | None) -> str:
    """A Python >= 3.12 for pygeoapi (Debian 12's python3 is 3.11)."""
    candidates = [given] if given else [
        *(shutil.which(f"python3.{m}") for m in (12, 13, 14)),  # the oldest first: nearest to ours
        *sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.1[2-9]*/bin/python3")),
                key=lambda p: [int(x) for x in Path(p).parents[1].name.split(".")[:2] if x.isdigit()]),
        shutil.which("python3"), sys.executable]
    for python in filter(None, candidates):
        version = _python_version(python)
        if version and version >= PYGEOAPI_MIN_PYTHON:
            return python
    raise SystemExit(f"pygeoapi {PYGEOAPI_PINS[0].split('==')[1]} needs Python >= 3.12; none found "
                     f"(tried {', '.join(filter(None, candidates))}); give one with --pygeoapi-python")


def pygeoapi_venv(python: str) -> Path:
    """A venv under /tmp with PYGEOAPI_PINS, made once and reused while the pins are the same."""
    version = _python_version(python)
    venv = Path(tempfile.gettempdir()) / f"sites-bench-pygeoapi-py{version[0]}{version[1]}"
    marker = venv / "bench-pins.txt"
    wanted = "\n".join(PYGEOAPI_PINS)
    if marker.exists() and marker.read_text() == wanted:
        return venv
    say(f"installing {', '.join(PYGEOAPI_PINS)} into {venv} (Python {version[0]}.{version[1]}: {python})")
    shutil.rmtree(venv, ignore_errors=True)
    run([python, "-m", "venv", str(venv)])
    run([str(venv / "bin/pip"), "install", "-q", "--disable-pip-version-check", *PYGEOAPI_PINS])
    marker.write_text(wanted)
    return venv


# --------------------------------------------------------------------------- PostgreSQL

def store_indexes(gpkg: Path) -> list[tuple[str, list[str]]]:
    """The B-tree indexes on columns of our store's sites table, read from the file, to be mirrored
    in PostgreSQL.  Left out: the unique index on id (ogr2ogr brings that constraint over) and the
    indexes on expressions (vacancy rate, idle area), which only our store has."""
    conn = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    try:
        out = []
        for _, name, unique, origin, _ in conn.execute("PRAGMA index_list(sites)").fetchall():
            columns = [r[2] for r in conn.execute(f"PRAGMA index_info(\"{name}\")")]
            if origin == "c" and all(columns):
                out.append((name, columns))
        return sorted(out)
    finally:
        conn.close()


class Cluster:
    """A throwaway PostgreSQL cluster on 127.0.0.1, its data directory under /tmp."""

    def __init__(self, bindir: Path):
        self.bindir, self.port = bindir, free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sites-bench-pg-"))
        self.data, self.started = self.dir / "data", False
        self.as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")

    def _cmd(self, *args) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self.as_postgres else list(args)

    def start(self) -> None:
        run(self._cmd(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--locale=C", "--no-sync"))
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                      "-o", options, "-w", "-t", "60", "start"))
        self.started = True
        self.sql("CREATE DATABASE sites", db="postgres")
        self.sql("CREATE EXTENSION postgis")

    def dsn(self, db="sites") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={db}"

    def sql(self, statement: str, db="sites") -> str:
        return run([str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", self.dsn(db),
                    "-c", statement]).stdout.strip()

    def load(self, gpkg: Path) -> float:
        t = time.perf_counter()
        run(["ogr2ogr", "-f", "PostgreSQL", f"PG:{self.dsn()}", str(gpkg), "sites", "-nln", "sites",
             "-overwrite", "-lco", "GEOMETRY_NAME=geom", "-lco", "FID=fid", "-where", "status <> 'retired'"])
        for name, columns in store_indexes(gpkg):
            self.sql(f'CREATE INDEX "{name}" ON sites ({", ".join(chr(34) + c + chr(34) for c in columns)})')
        self.sql("VACUUM ANALYZE sites")
        return time.perf_counter() - t

    def stop(self) -> None:
        if self.started:
            subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                                     "stop"), capture_output=True)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- servers

class Server:
    """One WSGI app in its own process on 127.0.0.1 under the chosen server (request log off)."""

    def __init__(self, name: str, python: str, app_env: dict, workdir: Path, args, port: int | None = None):
        self.name, self.port = name, port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        (workdir / "serve.py").write_text(SERVE)
        self.log = workdir / f"{name}.log"
        self._log = open(self.log, "w")  # noqa: SIM115  (the child writes to it until stop())
        self.proc = subprocess.Popen(serve_command(args.server, python, workdir, self.port, args.threaded),
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir,
                                     env={**os.environ, **app_env}, start_new_session=True)

    def wait(self, timeout=90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/collections/sites", timeout=10) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"{self.name} did not answer on {self.base} within {timeout:.0f} s:\n"
                         f"{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def start_pygeoapi(venv: Path, cluster: Cluster, workdir: Path, args) -> Server:
    port = free_port()  # pygeoapi's config names its own URL, so the port is chosen first
    config, openapi = workdir / "pygeoapi-config.yml", workdir / "pygeoapi-openapi.yml"
    config.write_text(PYGEOAPI_CONFIG.format(port=port, pg_port=cluster.port))
    env = {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    run([str(venv / "bin/pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
        env={**os.environ, **env})
    return Server("pygeoapi", str(venv / "bin/python"), {"BENCH_APP": "pygeoapi", **env}, workdir, args, port)


# --------------------------------------------------------------------------- one size

def build_store(n: int, seed: int, path: Path) -> tuple[list, float]:
    t = time.perf_counter()
    sites, surveys = synthetic.generate(n, seed)
    store = open_store(str(path), create=True)
    try:
        with store.transaction() as tx:
            for site in sites:
                tx.put_site(site)
            for survey in surveys:
                tx.put_survey(survey)
    finally:
        store.close()
    return sites, time.perf_counter() - t


def one_size(n: int, args, venv: Path, cluster: Cluster, workdir: Path) -> dict:
    say(f"\n=== {n:,} sites (seed {args.seed})")
    gpkg = workdir / f"sites-{n}.gpkg"
    sites, built = build_store(n, args.seed, gpkg)
    expected = api_bench.expected_from_sites(sites, args.seed, f"synthetic.generate({n}, {args.seed}), plain Python")
    from_store = api_bench.expected_from_store(gpkg, args.seed)
    disagree = api_bench.differences(expected, from_store)
    a = expected["answers"]
    say(f"store built in {built:.1f} s; expected answers: {len(a['all'])} listed (retired left out), "
        f"bbox {len(a['bbox'])}, idle {len(a['idle'])}, cql2 {len(a['cql2'])}")
    for line in disagree:
        say(f"WRONG ANSWER: our store (build_query + query) disagrees with the plain-Python answer: {line}")
    loaded = cluster.load(gpkg)
    rows = int(cluster.sql("SELECT count(*) FROM sites"))
    say(f"PostGIS: {rows} rows loaded with ogr2ogr + indexes + VACUUM ANALYZE in {loaded:.1f} s")
    if rows != len(a["all"]):
        say(f"WRONG: PostGIS holds {rows} sites, expected {len(a['all'])}")

    servers = []
    try:
        servers.append(Server("ours", sys.executable, {"BENCH_APP": "ours", "BENCH_REPO": str(REPO),
                                                       "BENCH_STORE": str(gpkg)}, workdir, args))
        servers.append(start_pygeoapi(venv, cluster, workdir, args))
        clients = {}
        for server in servers:
            server.wait()
            clients[server.name] = api_bench.Client(server.base, expected, "sites", args.seed)
            clients[server.name].warm_up()
        say(f"ours on {servers[0].base}, pygeoapi on {servers[1].base}; load average {_load()}")
        # query type by query type, the two servers in turn, BLOCK requests at a time: both see the
        # same machine (a shared machine's speed drifts from minute to minute), and each serves a
        # short steady stream, as a server in use does (one request after another server's is slower
        # for both: caches are cold, and the idle process has to be woken)
        for name in api_bench.ORDER:
            took = dict.fromkeys(clients, 0.0)
            left, block = api_bench.rounds(name, args.repeat), api_bench.rounds(name, BLOCK)
            while left > 0:
                for server_name, client in clients.items():
                    t = time.perf_counter()
                    for _ in range(min(block, left)):
                        client.once(name)
                    took[server_name] += time.perf_counter() - t
                left -= block
            for server_name, client in clients.items():
                for line in api_bench.report(client.results[name], took[server_name], f"{server_name:<9}"):
                    say(line)
        say(f"load average {_load()}")
    finally:
        for server in servers:
            server.stop()
    results = {name: client.results for name, client in clients.items()}
    if disagree:
        for r in results["ours"].values():
            r.fail("our store disagrees with the plain-Python answer (see above)")
    return {name: {q: r.summary() for q, r in res.items()} for name, res in results.items()}


# --------------------------------------------------------------------------- report

def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def table(all_results: dict) -> list[str]:
    head = ("| query | N | ours p50 / p95 ms | pygeoapi p50 / p95 ms | speed-up (p50) | "
            f"≥ {TARGET:g}× | correct: ours / pygeoapi |")
    lines = [head, "|---|---:|---:|---:|---:|:-:|:-:|"]
    for name in api_bench.ORDER:
        for n, res in all_results.items():
            o, p = res["ours"][name], res["pygeoapi"][name]
            speedup = p["p50_ms"] / o["p50_ms"] if o["p50_ms"] else float("nan")
            lines.append(f"| {name} | {int(n):,} | {o['p50_ms']:.1f} / {o['p95_ms']:.1f} | "
                         f"{p['p50_ms']:.1f} / {p['p95_ms']:.1f} | {speedup:.2f}× | "
                         f"{'yes' if speedup >= TARGET else 'no'} | {_mark(o)} / {_mark(p)} |")
    return lines


def _mark(result: dict) -> str:
    return "yes" if result["correct"] else "**no**"


def server_version(python: str, server: str) -> str:
    """The server's name and version in that Python, or a SystemExit naming what to install."""
    p = subprocess.run([python, "-c", f"import importlib.metadata as m; print(m.version({server!r}))"],
                       capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"{server} is not installed for {python}: pip install -r requirements-dev.txt")
    return f"{server} {p.stdout.strip()}"


def environment(venv: Path, cluster: Cluster, args) -> dict:
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
        except OSError as exc:
            return f"unavailable ({exc})"

    freeze = out([str(venv / "bin/pip"), "freeze", "--disable-pip-version-check"]).splitlines()
    keep = {pin.split("==")[0].lower() for pin in PYGEOAPI_PINS}
    return {
        "pygeoapi_venv": [line for line in freeze if line.split("==")[0].lower() in keep],
        "pygeoapi_python": out([str(venv / "bin/python"), "--version"]),
        "postgresql": cluster.sql("SHOW server_version"),
        "postgis": cluster.sql("SELECT postgis_lib_version()"),
        "gdal": out(["ogr2ogr", "--version"]),
        "ours_python": platform.python_version(),
        "server": server_version(sys.executable, args.server),
        "pygeoapi_server": server_version(str(venv / "bin/python"), args.server),
        "threaded": args.threaded,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated site counts")
    ap.add_argument("--repeat", type=int, default=60, help="timed requests per query type (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--server", choices=SERVERS, default="gunicorn",
                    help="the WSGI server both apps run under, one process each (default gunicorn)")
    ap.add_argument("--threaded", action="store_true",
                    help="serve requests from threads (werkzeug: a thread per request, as `flask run`; "
                         "gunicorn and granian: 8 threads) instead of one at a time")
    ap.add_argument("--pygeoapi-python", help="a Python >= 3.12 for pygeoapi's venv")
    ap.add_argument("--out", type=Path, metavar="DIR", help="also write DIR/pygeoapi_compare.json")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (stores, configs, server logs)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    started = time.perf_counter()
    bindir = pg_bindir()
    venv = pygeoapi_venv(find_python(args.pygeoapi_python))
    workdir = Path(tempfile.mkdtemp(prefix="sites-bench-api-"))
    cluster = Cluster(bindir)
    all_results, env = {}, {}
    try:
        cluster.start()
        env = environment(venv, cluster, args)
        say(f"pygeoapi: {', '.join(env['pygeoapi_venv'])} ({env['pygeoapi_python']}), PostgreSQL provider")
        say(f"PostgreSQL {env['postgresql']} + PostGIS {env['postgis']} on 127.0.0.1:{cluster.port}; {env['gdal']}")
        say(f"ours: Python {env['ours_python']}; both under {env['server']} (pygeoapi's: {env['pygeoapi_server']}), "
            f"one process, {'threaded' if args.threaded else 'one request at a time'}; "
            f"{args.repeat} timed requests per query type")
        for n in sizes:
            all_results[str(n)] = one_size(n, args, venv, cluster, workdir)
    finally:
        cluster.stop()
        if args.keep:
            say(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    say(f"\nwhole run: {time.perf_counter() - started:.0f} s\n")
    for line in table(all_results):
        say(line)
    wrong = [(n, server, q) for n, res in all_results.items() for server, qs in res.items()
             for q, r in qs.items() if not r["correct"]]
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "pygeoapi_compare.json").write_text(json.dumps(
            {"sizes": sizes, "repeat": args.repeat, "seed": args.seed, "server": args.server,
             "threaded": args.threaded,
             "environment": env, "results": all_results}, ensure_ascii=False, indent=1), encoding="utf-8")
    if wrong:
        say("\nWRONG ANSWERS: " + "; ".join(f"{server} {q} at {int(n):,}" for n, server, q in wrong))
        return 1
    say("\nevery answer correct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
