"""CQL2 text and CQL2-JSON -> pygeofilter AST.

Parsing is done by the ``cql2`` package (a maintained parser and validator of the
whole OGC CQL2 standard, with error positions).  Its CQL2-JSON output is then
turned into pygeofilter's AST, the one AST every store evaluates.  We do not use
pygeofilter's own parsers: in 0.4.0 they swap the axes of CQL2-JSON bbox literals
(pygeofilter#163), reject the CQL2-text ``BBOX(...)`` literal and the function form
``T_AFTER(a, b)``, and print to stdout on ``SRID=`` literals.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

import cql2
from pygeofilter import ast, values

from .errors import FilterError

_COMPARISONS = {"=": ast.Equal, "<>": ast.NotEqual, "<": ast.LessThan, "<=": ast.LessEqual,
                ">": ast.GreaterThan, ">=": ast.GreaterEqual}
_SPATIAL = {"s_intersects": ast.GeometryIntersects, "s_disjoint": ast.GeometryDisjoint,
            "s_contains": ast.GeometryContains, "s_within": ast.GeometryWithin,
            "s_touches": ast.GeometryTouches, "s_crosses": ast.GeometryCrosses,
            "s_overlaps": ast.GeometryOverlaps, "s_equals": ast.GeometryEquals}
_TEMPORAL = {"t_after": ast.TimeAfter, "t_before": ast.TimeBefore, "t_disjoint": ast.TimeDisjoint,
             "t_equals": ast.TimeEquals, "t_intersects": ast.TimeOverlaps, "t_during": ast.TimeDuring,
             "t_contains": ast.TimeContains, "t_begins": ast.TimeBegins, "t_begunby": ast.TimeBegunBy,
             "t_ends": ast.TimeEnds, "t_endedby": ast.TimeEndedBy, "t_meets": ast.TimeMeets,
             "t_metby": ast.TimeMetBy, "t_overlaps": ast.TimeOverlaps,
             "t_overlappedby": ast.TimeOverlappedBy}
_ARRAY = {"a_equals": ast.ArrayEquals, "a_contains": ast.ArrayContains,
          "a_containedby": ast.ArrayContainedBy, "a_overlaps": ast.ArrayOverlaps}
#: CQL2's T_INTERSECTS maps to its own class so that evaluators can tell it from T_OVERLAPS
class TimeIntersects(ast.TemporalPredicate):
    op = ast.TemporalComparisonOp.TOVERLAPS


_TEMPORAL["t_intersects"] = TimeIntersects
LANGS = ("cql2-text", "cql2-json", "cql-text")


def parse_cql2(source: str | dict, lang: str = "cql2-text", parameter: str = "filter") -> ast.Node:
    """Parse a CQL2 filter; raise FilterError naming the parameter and the position."""
    lang = (lang or "cql2-text").lower()
    if lang not in LANGS:
        raise FilterError(f"unknown filter language {lang!r}; use one of {', '.join(LANGS)}",
                          parameter=f"{parameter}-lang")
    try:
        if lang == "cql2-json":
            text = source if isinstance(source, str) else json.dumps(source)
            json.loads(text)  # a clear message for text that is not JSON at all
            expr = cql2.parse_json(text)
        else:
            if not isinstance(source, str) or not source.strip():
                raise FilterError("is empty", parameter=parameter)
            expr = cql2.parse_text(_legacy_ilike(source) if lang == "cql-text" else source)
        tree = expr.to_json()  # no expr.validate(): it costs 20-45 ms a call; _node checks what we need
    except FilterError:
        raise
    except json.JSONDecodeError as exc:
        raise FilterError(f"is not JSON: {exc}", parameter=parameter) from None
    except (cql2.ParseError, cql2.ValidationError, ValueError) as exc:
        raise FilterError(f"is not valid {lang}: {_one_line(exc)}", parameter=parameter) from None
    try:
        return _node(tree, parameter)
    except FilterError:
        raise
    except (IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FilterError(f"is not a well-formed CQL2 expression ({type(exc).__name__}: {exc})",
                          parameter=parameter) from None


_ILIKE = re.compile(r"""(?ix) ("[^"]+"|[a-z_][\w.:]*) \s+ (NOT\s+)? ILIKE \s+ ('(?:[^']|'')*')""")


def _legacy_ilike(text: str) -> str:
    """The older CQL text that GDAL's OAPIF driver writes has ILIKE; CQL2 says CASEI(a) LIKE CASEI(b)."""
    return _ILIKE.sub(lambda m: f"CASEI({m.group(1)}) {m.group(2) or ''}LIKE CASEI({m.group(3)})", text)


def _one_line(exc: Exception) -> str:
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and set(ln.strip()) - set("|^- ")]
    pos = next((ln.split("-->")[1].strip() for ln in lines if ln.startswith("-->")), None)
    expected = next((ln.lstrip("= ").strip() for ln in lines if ln.startswith("=")), None)
    if pos:
        line, _, col = pos.partition(":")
        return f"syntax error at line {line}, column {col}" + (f": {expected}" if expected else "")
    return " ".join(lines)[:300]


def _node(tree, parameter):
    """Convert one CQL2-JSON node (dict from cql2) to pygeofilter AST or a literal value."""
    if isinstance(tree, dict):
        if "property" in tree:
            return ast.Attribute(tree["property"])
        if "op" in tree:
            return _op(tree["op"].lower(), tree.get("args", []), parameter)
        if "date" in tree:
            return _date(tree["date"], parameter)
        if "timestamp" in tree:
            return _timestamp(tree["timestamp"], parameter)
        if "interval" in tree:
            start, end = (None if v == ".." else _node(v if isinstance(v, dict) else _instant(v), parameter)
                          for v in tree["interval"])
            return values.Interval(start, end)
        if "bbox" in tree:
            b = tree["bbox"]
            if len(b) == 6:
                b = [b[0], b[1], b[3], b[4]]
            if len(b) != 4:
                raise FilterError("a BBOX literal needs 4 (or 6) numbers", parameter=parameter)
            minx, miny, maxx, maxy = map(float, b)
            if minx > maxx or miny > maxy:
                raise FilterError(f"BBOX({minx}, {miny}, {maxx}, {maxy}) has min greater than max",
                                  parameter=parameter)
            return values.Envelope(minx, maxx, miny, maxy)
        if "type" in tree:
            return values.Geometry(tree)
        raise FilterError(f"unsupported CQL2 value {json.dumps(tree, ensure_ascii=False)[:80]}", parameter=parameter)
    if isinstance(tree, list):
        return [_node(v, parameter) for v in tree]
    return tree


def _instant(text):
    return {"timestamp": text} if "T" in str(text) else {"date": text}


def _date(text, parameter):
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{text!r} is not a date (YYYY-MM-DD)", parameter=parameter) from None


def _timestamp(text, parameter):
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(f"{text!r} is not a timestamp", parameter=parameter) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


_ARITY = {"not": 1, "like": 2, "between": 3, "in": 2, "isnull": 1, "casei": 1, "accenti": 1,
          **{k: 2 for k in (*_COMPARISONS, *_SPATIAL, *_TEMPORAL, *_ARRAY)}}


def _op(op, args, parameter):
    if not isinstance(args, list):
        raise FilterError(f"{op!r} needs a list of arguments", parameter=parameter)
    if (op in ("and", "or") and len(args) < 2) or (op in _ARITY and len(args) != _ARITY[op]):
        need = "at least 2" if op in ("and", "or") else _ARITY[op]
        raise FilterError(f"{op!r} takes {need} arguments, got {len(args)}", parameter=parameter)
    a = [_node(x, parameter) for x in args]
    if op in ("and", "or"):
        cls = ast.And if op == "and" else ast.Or
        node = a[0]
        for nxt in a[1:]:
            node = cls(node, nxt)
        return node
    if op == "not":
        return ast.Not(a[0])
    if op in _COMPARISONS:
        return _COMPARISONS[op](a[0], a[1])
    if op == "like":
        return ast.Like(a[0], a[1], nocase=False, wildcard="%", singlechar="_", escapechar="\\", not_=False)
    if op == "between":
        return ast.Between(a[0], a[1], a[2], not_=False)
    if op == "in":
        return ast.In(a[0], list(a[1]), not_=False)
    if op == "isnull":
        return ast.IsNull(a[0], not_=False)
    if op in ("casei", "accenti"):
        return ast.Function(op, a)
    if op in _SPATIAL:
        return _SPATIAL[op](a[0], a[1])
    if op in _TEMPORAL:
        return _TEMPORAL[op](a[0], a[1])
    if op in _ARRAY:
        return _ARRAY[op](a[0], a[1])
    if op in ("+", "-", "*", "/", "%", "^", "div"):
        raise FilterError(f"arithmetic ({op}) is not supported in filters", parameter=parameter)
    raise FilterError(f"unknown function or operator {op!r}", parameter=parameter)
