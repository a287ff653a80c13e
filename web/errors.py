"""One table from exception class to HTTP status, and one error body shape.

The body is an OGC API exception (``code``, ``description``) that is also an
RFC 9457 problem (``type``, ``title``, ``status``, ``detail``).  Client input
never produces a 500 or a stack trace; unexpected errors are logged and answered
with a generic 500 body.
"""

from __future__ import annotations

from werkzeug.exceptions import HTTPException

from sites.errors import Conflict, FilterError, NotFound, SitesError, StoreError, ValidationError

STATUS: dict[type, int] = {
    FilterError: 400,
    ValidationError: 400,
    NotFound: 404,
    Conflict: 409,
    StoreError: 503,
    SitesError: 400,
}
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          406: "Not Acceptable", 409: "Conflict", 412: "Precondition Failed", 413: "Content Too Large",
          415: "Unsupported Media Type", 428: "Precondition Required", 500: "Internal Server Error",
          503: "Service Unavailable"}


def status_of(exc: Exception) -> int:
    if isinstance(exc, HTTPException):
        return exc.code or 500
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(status: int, detail: str, code: str | None = None) -> dict:
    title = TITLES.get(status, "Error")
    code = code or {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                    405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict", 412: "PreconditionFailed",
                    413: "ContentTooLarge", 415: "UnsupportedMediaType",
                    428: "PreconditionRequired"}.get(status, "ServerError")
    return {"code": code, "description": detail, "type": "about:blank", "title": title, "status": status,
            "detail": detail}


def body_for(exc: Exception) -> tuple[dict, int]:
    status = status_of(exc)
    if isinstance(exc, HTTPException):
        return error_body(status, exc.description or TITLES.get(status, "")), status
    if status == 500:
        return error_body(500, "internal error; it has been logged"), 500
    return error_body(status, str(exc), getattr(exc, "code", None)), status


def error_response(exc: Exception, html: bool):
    """The one error response of the app: the body above as JSON, or the error page for browsers.
    HTTP errors keep their headers (e.g. Allow on a 405)."""
    from flask import current_app, jsonify, render_template

    body, status = body_for(exc)
    if status == 500:
        current_app.logger.exception("unexpected error")
    if html:
        resp = current_app.make_response(
            (render_template("error.html", message=body["detail"], status=status, title=body["title"]), status))
    else:
        resp = jsonify(body)
        resp.status_code = status
    if isinstance(exc, HTTPException):
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                resp.headers[name] = value
    return resp
