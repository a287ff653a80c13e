"""The Flask app: ``create_app()`` builds everything; nothing happens at import time."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Flask, current_app, request

from sites import open_store
from sites.config import INSTANCE

from . import config
from .errors import error_response


def current_store():
    """The store of the app handling this request (opened on first use, see create_app)."""
    return current_app.extensions["get_store"]()


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE), instance_relative_config=True)
    app.config.update(config.load(test_config))
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    def store():
        if "sites_store" not in app.extensions:
            app.extensions["sites_store"] = open_store(app.config["STORE_URL"])
        return app.extensions["sites_store"]

    app.extensions["get_store"] = store

    from . import admin, assets, auth, i18n, pages
    from .api import bp as api_bp, landing, params
    from .api import vacancy  # noqa: F401  (registers the vacancy routes)
    from .api import writes  # noqa: F401  (registers the write routes, OGC API – Features Part 4)
    i18n.init(app)
    auth.init(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(assets.bp)
    app.register_blueprint(admin.bp)
    from . import history, upload
    app.register_blueprint(history.bp)
    app.register_blueprint(upload.bp)
    from . import editing; app.register_blueprint(editing.bp)  # noqa: E702
    app.jinja_env.filters["combine_args"] = lambda args, **kw: urlencode({**args, **kw}, quote_via=quote)
    app.jinja_env.filters["area"] = lambda v: "—" if v is None else f"{v:,.0f}"  # m², no decimals
    app.jinja_env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.1f}%"  # a 0..1 rate

    @app.errorhandler(Exception)
    def error(exc):
        return error_response(exc, html=_wants_html())

    @app.get("/")
    def index():
        """The OGC API landing page for API clients, the map for browsers."""
        if not _wants_html():
            params.output_format(request.args, request.headers.get("Accept", ""))  # a bad f is a 400
            return landing()
        return pages.map_page()

    return app


def _wants_html() -> bool:
    f = request.args.get("f")
    if f is not None:
        return f == "html"
    best = request.accept_mimetypes.best_match(["application/json", "text/html"], default="application/json")
    return best == "text/html" and request.accept_mimetypes["text/html"] > request.accept_mimetypes["application/json"]
