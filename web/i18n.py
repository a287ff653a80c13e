"""Chinese by default, English by a switch (flask-babel).

The language comes from ``?lang=zh|en`` (remembered in a cookie), then the
cookie, then DEFAULT_LANGUAGE.  Message ids are English; web/translations holds
the Chinese catalogue, compiled to .mo when the app starts if it is newer.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel

LANGUAGES = ("zh", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogues() -> None:
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as fh:
                catalogue = read_po(fh)
            with mo.open("wb") as fh:
                write_mo(fh, catalogue)


def current_language(app_default: str) -> str:
    lang = request.args.get("lang") or request.cookies.get("lang") or app_default
    return lang if lang in LANGUAGES else app_default


def init(app: Flask) -> None:
    compile_catalogues()
    default = app.config.get("DEFAULT_LANGUAGE", "zh")
    Babel(app, locale_selector=lambda: current_language(default),
          default_translation_directories=str(TRANSLATIONS))

    @app.after_request
    def remember(resp):
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            resp.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", httponly=True)
        return resp

    @app.context_processor
    def language():
        return {"lang": current_language(default)}
