"""Mappings: how to read a register that keeps its own columns.

A mapping is a dict, or a JSON, YAML or CSV file (CSV: header ``source,field``, one entry a
row); ``load_mapping`` reads and checks one.  Without a mapping a table's headers are matched
to fields by name or label (``sites.tables.TABLES``).

    "SiteReference": "id"         the column holds that field; a list maps one column to several
                                  fields; null or "" drops the column quietly.  Targets: any
                                  site, survey or unit field, lon, lat, x, y, location, wkt, crs,
                                  and the survey columns of a sites table (survey_date,
                                  occupied_area_m2, tenant_count, survey_leasable_area_m2,
                                  survey_source, survey_data_status).
    "=city": "Stoke-on-Trent"     the value of a field for every row that has no cell for it
    "status:permissioned": "planned"
                                  translation: a cell reading "permissioned" (ignoring case and
                                  extra spaces) is read as "planned"; other cells are unchanged
    "@crs": "EPSG:27700"          options: @crs; @location_order (latlon or lonlat); @id_prefix
                                  (put before every id); @id_slug (true: lower-case ids and turn
                                  other characters into "-"); @sheet
    "#": "..."                    comments: any key starting with #

A mapping naming a column the file lacks, or a target that is not a field, is an error
naming the entry.  Examples: tests/data/stoke_brownfield_mapping.json, baltimore_vacants_mapping.json.

Applying a mapping to a table: ``Mapping.kind`` tells what the table holds (sites, surveys
or units), ``Mapping.find`` finds the column of each field (mapped columns first, then
recognised headers), ``Mapping.require`` checks that every required field has a column or a
constant, and ``Mapping.coerce`` turns the cells into ``Cells``: a column of typed values a
field, with translations, constants and the id options applied, and the first error of each
row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import chinacrs, schema
from .errors import ValidationError
from .schema import Field
from .tables import INDEX, QUIET, TABLES, Table, decode

#: every field a mapping may name
TARGETS = {f.name for fields in TABLES.values() for f in fields}
_OBSERVATIONS = ("occupied_area_m2", "leasable_area_m2", "tenant_count")  # what a survey records
_MISSING = object()


@dataclass
class Cells:
    """A table's values read through a mapping: each found field's column of coerced values,
    the mapping's constants (``fixed``), and the first error of each row (by row index)."""

    values: dict[str, list]
    fixed: dict[str, Any]
    errors: dict[int, ValidationError]

    def get(self, name: str, i: int) -> Any:
        """The value of a field in row i: its cell, else the mapping's constant, else None."""
        column = self.values.get(name)
        return column[i] if column is not None else self.fixed.get(name)

    def fail(self, i: int, name: str, message: str) -> None:
        """Note an error in row i, unless the row has one already."""
        self.errors.setdefault(i, ValidationError(message, field=name))


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping (see the module docstring)."""

    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # normalised header -> fields
    constants: dict[str, Any] = field(default_factory=dict)  # field -> raw value
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> folded text -> raw
    crs: str | None = None
    location_order: str | None = None
    id_prefix: str = ""
    id_slug: bool = False
    sheet: str | None = None

    def kind(self, table: Table) -> str:
        """sites, units or surveys, from the table's columns (and the mapping's targets and constants)."""
        keys = {schema.normalize_header(h) for h in table.headers}

        def has(kind: str, *names: str) -> bool:
            index = INDEX[kind]
            got = set(self.constants) | {index[k] for k in keys if k in index and k not in self.columns}
            got.update(t for k in keys for t in self.columns.get(k, ()))
            return all(n in got for n in names)

        if not has("sites", "name_zh"):
            if has("units", "floor", "unit_label"):
                return "units"
            if has("surveys", "survey_date") and any(has("surveys", n) for n in _OBSERVATIONS):
                return "surveys"
        return "sites"

    def find(self, table: Table, kind: str, fields: dict[str, Field],
             check: bool) -> tuple[dict[str, int], list[str]]:
        """Field name -> column index of a ``kind`` table, and the headers ignored.  ``check``:
        every column the mapping names must be in the table."""
        index, found, explicit, ignored = INDEX[kind], {}, set(), []
        keys = [schema.normalize_header(h) for h in table.headers]
        if check:
            absent = [k for k in self.columns if k not in keys]
            if absent:
                raise ValidationError(f"the mapping names column(s) {', '.join(absent)} which {table.name} does "
                                      f"not have (its columns: {', '.join(table.headers)})", field="mapping")
        for j, key in enumerate(keys):
            for target in self.columns.get(key, ()):
                if target not in fields:
                    raise ValidationError(f"mapping entry {table.headers[j]!r}: a {kind} table has no field "
                                          f"{target!r}", field=target)
                if target in found:
                    raise ValidationError(f"the mapping sends two columns to {target!r}", field=target)
                found[target] = j
                explicit.add(target)
        for j, (key, text) in enumerate(zip(keys, table.headers)):
            name = index.get(key)
            if key in self.columns or not key or (name is None and key in QUIET):
                continue
            if name is None or name in explicit:
                ignored.append(text)
            elif name in found:
                raise ValidationError(f"columns {table.headers[found[name]]!r} and {text!r} both hold {name}; "
                                      "remove one or map it elsewhere", field=name)
            else:
                found[name] = j
        return found, ignored

    def require(self, fields: dict[str, Field], cols: dict[str, int]) -> None:
        """Every required field needs a column or a constant."""
        for f in fields.values():
            if f.required and f.name not in cols and f.name not in self.constants:
                raise ValidationError(
                    f"the file has no column for {f.name} ({f.label_zh}); add one, or give one value for every "
                    f"row in a mapping (\"={f.name}\": ...)", field=f.name)

    def coerce(self, table: Table, fields: dict[str, Field], cols: dict[str, int]) -> Cells:
        """The table's cells as typed values, column by column (values are cached, so repeated
        categories cost nothing).  A bad constant raises; a bad cell is its row's error."""
        values, errors, fixed = {}, {}, {}
        for name, raw in self.constants.items():
            if name in fields:
                try:
                    fixed[name] = self._id(name, schema.coerce(fields[name], raw))
                except ValidationError as exc:
                    raise ValidationError(f"mapping entry '={name}': {exc.reason}", field=name) from None
        for name, j in cols.items():
            f, cache, translations = fields[name], {}, self.translations.get(name)
            column = values[name] = []
            for i, row in enumerate(table.rows):
                raw = row[j]
                key = (type(raw), raw) if not isinstance(raw, (list, dict)) else None
                hit = cache.get(key, _MISSING)
                if hit is _MISSING:
                    try:
                        hit = self._cell(f, raw, translations, fixed)
                    except ValidationError as exc:
                        hit = exc
                    if key is not None:
                        cache[key] = hit
                if isinstance(hit, ValidationError):
                    errors.setdefault(i, hit)
                    hit = None
                column.append(hit)
        return Cells(values, fixed, errors)

    def _cell(self, f: Field, raw: Any, translations: dict, fixed: dict[str, Any]) -> Any:
        if translations and not schema.is_blank(raw) and _fold(raw) in translations:
            raw = translations[_fold(raw)]
        if schema.is_blank(raw) and f.name in fixed:
            return fixed[f.name]
        return self._id(f.name, schema.coerce(f, raw))

    def _id(self, name: str, value: Any) -> Any:
        if name not in ("id", "site_id") or value is None:
            return value
        if self.id_slug:
            value = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        return self.id_prefix + value


# --- loading ------------------------------------------------------------------------------------

def load_mapping(mapping: dict | str | Path | Mapping | None) -> Mapping:
    """A mapping from a dict or a JSON/YAML/CSV file; ValidationError names a bad entry."""
    if mapping is None or isinstance(mapping, Mapping):
        return mapping or Mapping()
    if isinstance(mapping, dict):
        return _parse_mapping(list(mapping.items()))
    if isinstance(mapping, (str, Path)):
        return _parse_mapping(_mapping_entries(Path(mapping)))
    raise ValidationError("a mapping is a dict or the path of a JSON, YAML or CSV file", field="mapping")


def _mapping_entries(path: Path) -> list[tuple[str, Any]]:
    if not path.is_file():
        raise ValidationError(f"no mapping file {path}", field="mapping")
    text, suffix = decode(path.read_bytes()), path.suffix.lower()
    try:
        if suffix == ".csv":
            rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
            if not rows or [c.strip().lower() for c in rows[0][:2]] != ["source", "field"]:
                raise ValidationError(f"{path.name}: a CSV mapping starts with the header row source,field",
                                      field="mapping")
            return [(r[0], r[1] if len(r) > 1 else "") for r in rows[1:]]
        if suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            raise ValidationError(f"{path.name}: a mapping file is .json, .yaml or .csv", field="mapping")
    except (ValueError, ImportError) as exc:  # json and yaml errors are ValueErrors
        raise ValidationError(f"cannot read mapping {path.name}: {exc}", field="mapping") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path.name}: a mapping is an object of source -> field entries", field="mapping")
    return list(data.items())


def _parse_mapping(entries: list[tuple[str, Any]]) -> Mapping:
    columns: dict[str, list[str]] = {}
    constants, translations, options = {}, {}, {}
    for key, value in entries:
        key = str(key).strip()
        where = f"mapping entry {key!r}"
        if not key or key.startswith("#"):
            continue
        if key.startswith("@"):
            options[key[1:].strip()] = value
            continue
        name, _, text = key.partition(":")
        if key.startswith("="):
            constants[_target(key[1:].strip(), where)] = value
        elif text and name.strip() in TARGETS:
            translations.setdefault(name.strip(), {})[_fold(text)] = value
        else:
            targets = value if isinstance(value, list) else [] if value in (None, "") else [value]
            columns.setdefault(schema.normalize_header(key), []).extend(_target(str(t), where) for t in targets)
    return Mapping({k: tuple(v) for k, v in columns.items()}, constants, translations, **_options(options))


def _target(name: str, where: str) -> str:
    if name not in TARGETS:
        raise ValidationError(f"{where}: {name!r} is not a field we know; use one of "
                              f"{', '.join(sorted(TARGETS))}", field=name)
    return name


def _options(options: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in options.items():
        where = f"mapping entry '@{name}'"
        if name == "crs":
            try:
                out["crs"] = chinacrs.normalize_crs(value)
            except ValidationError as exc:
                raise ValidationError(f"{where}: {exc.reason}", field="crs") from None
        elif name == "location_order":
            order = str(value).strip().lower().replace("/", "").replace(",", "")
            if order not in ("latlon", "lonlat"):
                raise ValidationError(f"{where}: {value!r} is not latlon or lonlat", field="location")
            out["location_order"] = order
        elif name == "id_prefix":
            out["id_prefix"] = str(value or "").strip()
        elif name == "id_slug":
            try:
                out["id_slug"] = bool(schema.coerce(Field("id_slug", "boolean", "", ""), value))
            except ValidationError as exc:
                raise ValidationError(f"{where}: {exc.reason}", field="id") from None
        elif name == "sheet":
            out["sheet"] = str(value)
        else:
            raise ValidationError(f"{where}: unknown option (known: @crs, @location_order, @id_prefix, "
                                  "@id_slug, @sheet)", field="mapping")
    return out


def _fold(text: Any) -> str:
    return " ".join(str(text).split()).casefold()
