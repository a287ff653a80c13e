"""Serve the app on a free loopback port in this process; print the URL, serve until killed.

Tests run it as a separate process: GDAL (through pyogrio) holds the GIL while it
does HTTP, so a server in a thread of the test process would never answer.
Every request's path and query is appended to ``log_path(url)`` so tests can see
what a client sent (e.g. that GDAL pushed a filter down).
Usage: python -m tests.web.liveserver STORE_URL LOG_DIR
"""

import sys
from pathlib import Path

from flask import request
from werkzeug.serving import make_server

from web import create_app

_LOG_DIR: dict[str, Path] = {}


def log_path(url: str) -> Path:
    return _LOG_DIR[url]


def start(store_url: str, log_dir: Path, env: dict | None = None):
    """Run the server in a child process; returns (process, url).  ``env``: SITES_* settings."""
    import os
    import subprocess

    from tests.conftest import REPO
    proc = subprocess.Popen([sys.executable, "-m", "tests.web.liveserver", store_url, str(log_dir)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})
    url = proc.stdout.readline().strip()
    _LOG_DIR[url] = log_dir / "requests.log"
    return proc, url


def main():
    store_url, log_dir = sys.argv[1], Path(sys.argv[2])
    app = create_app({"STORE_URL": store_url, "SECRET_KEY": "test"})
    log = open(log_dir / "requests.log", "a", buffering=1, encoding="utf-8")

    @app.before_request
    def record():
        log.write(request.full_path + "\n")

    @app.get("/_test/tile.svg")
    def tile():
        """A local placeholder basemap tile, so that browser tests never leave 127.0.0.1."""
        svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" '
               'fill="#eef1f4" stroke="#d5dbe2"/></svg>')
        return svg, 200, {"Content-Type": "image/svg+xml"}

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
