"""The Flask app: ``create_app()`` builds everything; nothing happens at import time."""

from __future__ import annotations

from flask import Flask, g, render_template, request

from sites import SitesError, build_query, open_store
from sites.config import INSTANCE

from . import config


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE), instance_relative_config=True)
    app.config.update(config.load(test_config))

    def store():
        if "sites_store" not in app.extensions:
            app.extensions["sites_store"] = open_store(app.config["STORE_URL"])
        return app.extensions["sites_store"]

    app.extensions["get_store"] = store

    @app.errorhandler(SitesError)
    def bad_input(exc):
        return render_template("error.html", message=str(exc)), 400

    @app.get("/")
    def index():
        s = store()
        q = build_query(request.args, district_geometry=s.district_geometry)
        page = s.query(q.page(q.limit or 500, q.offset))
        return render_template("index.html", page=page, args=request.args)

    return app
