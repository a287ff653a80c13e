"""Chinese by default, English by a switch (flask-babel).

The language comes from ``?lang=zh|en`` (remembered in a cookie), then the
cookie, then DEFAULT_LANGUAGE.  Message ids are English; web/translations holds
the Chinese catalogue, compiled to .mo when the app starts if it is newer.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, request
from flask_babel import Babel

LANGUAGES = ("zh", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogues() -> None:
    for folder in TRANSLATIONS.glob("*/LC_MESSAGES"):
        sources = sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))
        mo = folder / "messages.mo"
        if not sources or (mo.exists() and mo.stat().st_mtime >= max(p.stat().st_mtime for p in sources)):
            continue
        with sources[0].open("rb") as fh:
            catalogue = read_po(fh)
        for po in sources[1:]:
            with po.open("rb") as fh:
                for message in read_po(fh):
                    if message.id and message.id not in catalogue:
                        catalogue[message.id] = message
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalogue)
        tmp.replace(mo)


def current_language(app_default: str) -> str:
    lang = request.args.get("lang") or request.cookies.get("lang") or app_default
    return lang if lang in LANGUAGES else app_default


def language() -> str:
    """The language of this request (see the module docstring)."""
    return current_language(current_app.config.get("DEFAULT_LANGUAGE", "zh"))


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
