"""Typed errors of the inventory domain.

They know nothing of HTTP or of the command line: the CLI maps every
``SitesError`` to exit code 2 with its message, the web edge maps each class to
a status code in one table.  Every message names what was wrong: the field, the
row, the site or the filter parameter.
"""

from __future__ import annotations


class SitesError(Exception):
    """Base of every error the domain raises on purpose."""

    code = "InvalidParameterValue"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(SitesError):
    """A record breaks an invariant.  Names the field, and the site or row when known."""

    def __init__(self, message: str, *, field: str | None = None,
                 site_id: str | None = None, row: int | None = None):
        where = []
        if row is not None:
            where.append(f"row {row}")
        if site_id:
            where.append(f"site {site_id!r}")
        if field:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.field, self.site_id, self.row, self.reason = field, site_id, row, message


class ImportRowsError(SitesError):
    """An import found bad rows; nothing was written.  ``errors`` holds one ValidationError a row."""

    def __init__(self, errors: list[ValidationError], total_rows: int):
        self.errors, self.total_rows = errors, total_rows
        first = errors[0].message if errors else ""
        more = f" (and {len(errors) - 1} more bad rows)" if len(errors) > 1 else ""
        super().__init__(f"{len(errors)} of {total_rows} rows are invalid, nothing was imported: {first}{more}")


class FilterError(SitesError):
    """A filter, sort or paging parameter is malformed, names an unknown property or an impossible value."""

    def __init__(self, message: str, *, parameter: str | None = None):
        super().__init__(f"{parameter}: {message}" if parameter else message)
        self.parameter, self.reason = parameter, message


class NotFound(SitesError):
    code = "NotFound"


class Conflict(SitesError):
    """A write would overwrite a newer version, or reuse an id."""

    code = "Conflict"


class StoreError(SitesError):
    """The store cannot be opened or used (bad URL, unreadable file, missing driver)."""

    code = "StoreError"
