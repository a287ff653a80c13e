"""Import sites, surveys and units from the tables planners already keep.

``read(path)`` turns a file into an ``ImportPlan``: the records, and every bad row with its
row number and field; nothing is written.  ``apply(store, plan)`` writes a clean plan in one
transaction (all or nothing).  ``template(lang)`` / ``write_template(path, lang)`` give a
file to fill in; ``accepted_headers()`` lists the headers each field accepts (sites.template).

Formats
    .csv, .xlsx, .geojson/.json and .gpkg: what each one holds is told in sites.tables.
    What a table holds is told from its columns: name_zh makes a sites table, floor and
    unit_label a units table, survey_date with an area or tenant count a surveys table.

Columns
    Headers may be field names, Chinese or English labels, with or without units (建筑面积,
    建筑面积(㎡), gross_floor_area_m2) or the aliases in ``accepted_headers()``; case, spaces and
    full-width brackets do not matter.  Unknown columns are ignored and listed in
    ``plan.ignored_columns``; derived ones (version, vacancy_rate, idle_area_m2) are ignored
    quietly.  Every required field needs a column or a mapping value, data_status included:
    the importer never guesses that data is verified.  Empty first_added / last_updated
    become ``today``.  A register with its own columns is read through a ``mapping``, whose
    format is told in sites.mapping.

Position
    Every site row needs one: its geometry, WKT, lon/lat, x/y or a location cell, in the
    coordinate system of its crs cell, the ``crs`` argument, the mapping or the file, else
    WGS-84.  The order and the rules are told in sites.positions.

Occupancy on a site row
    A sites row may carry its current survey, as the CSV/XLSX/GeoJSON exports write it:
    survey_date, occupied_area_m2, tenant_count, and optionally survey_leasable_area_m2
    (default, when empty and an occupied area is given: the site's leasable_area_m2),
    survey_source and survey_data_status (default, when the column is absent: the row's source
    and data_status).  A row with a survey_date and occupancy_basis empty or "survey" gives a
    Survey (checked like any survey); occupancy_basis "units" gives none (units come from a
    units table).  An occupied area without a survey_date is an error.

Errors name the row a planner sees: the header is row 1 of a CSV file or sheet, so the first
data row is row 2; a GeoJSON or GeoPackage feature is its index + 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, Callable

import shapely

from . import chinacrs, positions
from .errors import ImportRowsError, NotFound, ValidationError
from .mapping import Mapping, load_mapping
from .model import Site, Survey, Unit
from .tables import READERS, TABLES, WRITABLE, Table, decode, join_wkt
from .template import TEMPLATE_COLUMNS, TEMPLATE_EXAMPLE, accepted_headers, template, write_template
from .validation import validate_site, validate_survey, validate_units

Progress = Callable[[int, int], None]

#: stands in for a site that is not in the file: only the rules that do not depend on the site
#: apply while reading; the store checks the rest when the plan is applied
_ANY_SITE = Site(id="any", name_zh="", geometry=shapely.Point(0, 0), city="")


@dataclass
class ImportPlan:
    """What a file would import; nothing is written until ``apply``."""

    sites: list[Site] = field(default_factory=list)
    surveys: list[Survey] = field(default_factory=list)
    units: dict[str, list[Unit]] = field(default_factory=dict)
    errors: list[ValidationError] = field(default_factory=list)
    total_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # what each table held: sites, surveys, units
    site_rows: dict[str, int] = field(default_factory=dict)  # site id -> row, for errors in apply
    survey_rows: list[int] = field(default_factory=list)  # row of each survey
    unit_rows: dict[str, int] = field(default_factory=dict)  # site id -> row of its first unit


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    surveys: int  # surveys added or changed
    units: int  # units written, in sites whose units changed
    #: the audit trail's batch of this import (None when nothing changed); not part of the counts
    batch: str | None = field(default=None, compare=False)


# --- tables into records --------------------------------------------------------------------------

def read(path, *, crs: str | None = None, mapping: dict | str | Path | Mapping | None = None,
         sheet: str | None = None, today: date | None = None, progress: Progress | None = None) -> ImportPlan:
    """Read a file into an ImportPlan (see the module docstring); writes nothing.

    Problems with the file as a whole (unreadable, a required column missing, a bad mapping)
    raise ValidationError; bad rows are collected in ``plan.errors``, all of them.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ValidationError(f"cannot import {path.name!r}: use {', '.join(READERS)}", field="file")
    if not path.is_file():
        raise ValidationError(f"no file {path}", field="file")
    m = load_mapping(mapping)
    tables = reader(path, sheet if sheet is not None else m.sheet)
    work = _Reader(chinacrs.normalize_crs(crs) if crs else None, today or date.today(),
                   progress, sum(len(t.rows) for t in tables))
    plan = ImportPlan()
    for k, table in enumerate(tables):
        work.table(plan, table, m if k == 0 else Mapping(), main=k == 0, row_surveys=len(tables) == 1)
    return plan


class _Reader:
    """Turns tables into records for one read(): cells coerced column by column
    (sites.mapping), positions converted in bulk (sites.positions), then one plain loop over
    the rows."""

    def __init__(self, crs: str | None, today: date, progress: Progress | None, total: int):
        self.crs, self.today = crs, today
        self.progress, self.total, self.done = progress, total, 0

    def table(self, plan: ImportPlan, table: Table, mapping: Mapping, main: bool, row_surveys: bool):
        self.m = mapping
        join_wkt(table)
        kind = mapping.kind(table)
        self.fields = {f.name: f for f in TABLES[kind]}
        self.cols, ignored = mapping.find(table, kind, self.fields, check=main)
        mapping.require(self.fields, self.cols)
        if kind == "sites":
            positions.check_columns(self.cols, mapping, self.crs)
        self.cells = mapping.coerce(table, self.fields, self.cols)
        self.errors = self.cells.errors
        self.rows, self.numbers, self.label = table.rows, table.numbers, "" if main else f"in the {table.name} table: "
        plan.kinds.append(kind)
        plan.total_rows += len(table.rows)
        plan.ignored_columns += [h for h in ignored if h not in plan.ignored_columns]
        if kind == "sites":
            self._sites(plan, table, row_surveys)
        elif kind == "surveys":
            self._surveys(plan)
        else:
            self._units(plan)
        plan.errors += [self._at(i, e) for i, e in sorted(self.errors.items())]

    def _at(self, i: int, exc: ValidationError) -> ValidationError:
        return ValidationError(self.label + exc.reason, field=exc.field, site_id=exc.site_id, row=self.numbers[i])

    def _tick(self) -> None:
        self.done += 1
        if self.progress and (self.done % 1000 == 0 or self.done == self.total):
            self.progress(self.done, self.total)

    def _sites(self, plan: ImportPlan, table: Table, row_surveys: bool) -> None:
        cells = self.cells
        geoms = positions.locate(table, cells, self.cols, self.crs or self.m.crs, self.m.location_order)
        present = [(name, cells.values[name]) for name in WRITABLE if name in cells.values]
        fixed = {name: cells.fixed[name] for name in WRITABLE if name in cells.fixed and name not in cells.values}
        if row_surveys and "occupied_area_m2" in self.cols and "survey_date" not in self.cols:
            raise ValidationError("an occupied area needs the date of its survey: add a survey_date (调查日期) "
                                  "column", field="survey_date")
        row_surveys = row_surveys and "survey_date" in self.cols
        seen = plan.site_rows
        for i in range(len(table.rows)):
            self._tick()
            if i in self.errors:
                continue
            kw = dict(fixed)
            for name, column in present:
                kw[name] = column[i]
            kw["first_added"] = kw.get("first_added") or self.today
            kw["last_updated"] = kw.get("last_updated") or self.today
            try:
                site = Site(geometry=geoms[i], **kw)
                validate_site(site, self.today)
                survey = self._row_survey(site, i) if row_surveys else None
            except ValidationError as exc:
                self.errors[i] = exc
                continue
            if site.id in seen:
                cells.fail(i, "id", f"{site.id!r} appears twice, in rows {seen[site.id]} and {self.numbers[i]}")
                continue
            seen[site.id] = self.numbers[i]
            plan.sites.append(site)
            if survey is not None:
                plan.surveys.append(survey)
                plan.survey_rows.append(self.numbers[i])

    def _row_survey(self, site: Site, i: int) -> Survey | None:
        get = self.cells.get
        if get("occupancy_basis", i) == "units":
            return None
        when, occupied = get("survey_date", i), get("occupied_area_m2", i)
        if when is None:
            if occupied is None:
                return None
            raise ValidationError("is required with occupied_area_m2 (the date of that survey)",
                                  field="survey_date", site_id=site.id)
        leasable = get("survey_leasable_area_m2", i)
        if leasable is None and occupied is not None:
            leasable = site.leasable_area_m2
        source = get("survey_source", i) if "survey_source" in self.cols else site.source
        status = get("survey_data_status", i) if "survey_data_status" in self.cols else None
        survey = Survey(site.id, when, leasable, occupied, get("tenant_count", i), source,
                        status or site.data_status)
        validate_survey(survey, site, self.today)
        return survey

    def _records(self, make, check) -> list[tuple[int, Any]]:
        """Build one record a row with make(kw) and check(record), collecting errors."""
        names = list(self.fields)  # an absent column reads as empty
        out = []
        for i in range(len(self.rows)):
            self._tick()
            if i in self.errors:
                continue
            try:
                record = make({name: self.cells.get(name, i) for name in names})
                check(record)
            except ValidationError as exc:
                self.errors[i] = exc
                continue
            out.append((i, record))
        return out

    def _surveys(self, plan: ImportPlan) -> None:
        sites = {s.id: s for s in plan.sites}
        seen: dict[tuple, int] = {}
        for i, s in self._records(lambda kw: Survey(**kw),
                                  lambda s: validate_survey(s, sites.get(s.site_id, _ANY_SITE), self.today)):
            key = (s.site_id, s.survey_date)
            if key in seen:
                self.cells.fail(i, "survey_date", f"site {s.site_id!r} has two surveys on {s.survey_date}, in rows "
                                                  f"{seen[key]} and {self.numbers[i]}")
                continue
            seen[key] = self.numbers[i]
            plan.surveys.append(s)
            plan.survey_rows.append(self.numbers[i])

    def _units(self, plan: ImportPlan) -> None:
        sites = {s.id: s for s in plan.sites}
        seen: dict[tuple, int] = {}
        groups: dict[str, list[tuple[int, Unit]]] = {}
        for i, u in self._records(lambda kw: Unit(**kw), lambda u: validate_units(_ANY_SITE, [u], self.today)):
            key = (u.site_id, u.floor, u.unit_label)
            if key in seen:
                self.cells.fail(i, "unit_label", f"unit {u.floor}/{u.unit_label} of {u.site_id!r} appears twice, "
                                                 f"in rows {seen[key]} and {self.numbers[i]}")
                continue
            seen[key] = self.numbers[i]
            groups.setdefault(u.site_id, []).append((i, u))
        for site_id, group in groups.items():
            units = [u for _, u in group]
            if site_id in sites:
                try:
                    validate_units(sites[site_id], units, self.today)
                except ValidationError as exc:
                    self.errors.setdefault(group[0][0], exc)
                    continue
            plan.units.setdefault(site_id, []).extend(units)
            plan.unit_rows.setdefault(site_id, self.numbers[group[0][0]])


# --- writing a plan -----------------------------------------------------------------------------

def apply(store, plan: ImportPlan, *, progress: Progress | None = None, actor=None) -> ImportResult:
    """Write a plan in one transaction: sites (by id: new ones created, changed ones updated,
    the rest left alone), then surveys, then units.  A plan with errors, or any record the
    store refuses, raises ImportRowsError and leaves the store as it was.

    A stored position that agrees with the imported one to within 1e-9° (0.1 mm) is kept, so
    that formats holding 16 significant digits (Excel) do not update every site.
    ``actor`` (sites.audit.Actor) is who the audit trail records, by default the command-line user.
    """
    if plan.errors:
        raise ImportRowsError(plan.errors, plan.total_rows)
    created = updated = unchanged = surveys = units = 0
    errors: list[ValidationError] = []
    total, done = len(plan.sites) + len(plan.surveys) + len(plan.units), 0

    def tick():
        nonlocal done
        done += 1
        if progress and (done % 500 == 0 or done == total):
            progress(done, total)

    try:
        with store.transaction(actor) as tx:
            batch = tx.batch
            for site in plan.sites:
                old = tx.get(site.id)  # through the transaction: the store's readers would wait on it
                changed = _write(tx, partial(tx.put_site, site), errors, plan.site_rows.get(site.id))
                created += changed and old is None
                updated += changed and old is not None
                unchanged += not changed
                tick()
            rows = plan.survey_rows if len(plan.survey_rows) == len(plan.surveys) else [None] * len(plan.surveys)
            for survey, row in zip(plan.surveys, rows):
                surveys += _write(tx, partial(tx.put_survey, survey), errors, row)
                tick()
            for site_id, group in plan.units.items():
                units += len(group) * _write(tx, partial(tx.set_units, site_id, group), errors,
                                             plan.unit_rows.get(site_id))
                tick()
            if errors:
                raise ImportRowsError(errors, plan.total_rows)
    except ValidationError as exc:  # the commit check: a site no longer agrees with its surveys or units
        row = plan.site_rows.get(exc.site_id) or plan.unit_rows.get(exc.site_id)
        raise ImportRowsError([ValidationError(exc.reason, field=exc.field, site_id=exc.site_id, row=row)],
                              plan.total_rows) from None
    changed = created or updated or surveys or units
    return ImportResult(created, updated, unchanged, surveys, units, batch if changed else None)


def _write(tx, put, errors: list, row: int | None) -> bool:
    """Run one write; True if it changed something.  A refused record is collected with its row."""
    before = tx.changed
    try:
        put()
    except ValidationError as exc:
        errors.append(ValidationError(exc.reason, field=exc.field, site_id=exc.site_id, row=row))
        return False
    except NotFound as exc:  # units of a site neither stored nor imported
        errors.append(ValidationError(exc.message, field="site_id", row=row))
        return False
    return tx.changed > before


__all__ = ["read", "apply", "load_mapping", "template", "write_template", "accepted_headers", "decode",
           "ImportPlan", "ImportResult", "Mapping", "TABLES", "TEMPLATE_COLUMNS", "TEMPLATE_EXAMPLE"]
