"""Checking a filter AST against the site schema, and normalising it for the evaluators.

A checked AST names only known properties, compares each with a value of its type
(dates as ``date``, CASEI/ACCENTI applied to text literals, geometries as shapely
objects) and has the property on the left as a ``Term``.  Every problem is a
FilterError naming the parameter and what is wrong.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from pygeofilter import ast, values
from shapely.geometry import box, shape

from . import cql
from .errors import FilterError
from .schema import BY_NAME, FIELDS, Field
from .terms import Term, TextSearch, fold


def check(node: ast.Node, parameter: str = "filter", hidden: frozenset[str] = frozenset()) -> ast.Node:
    """Validate an AST against the schema and return it normalised for the evaluators.

    Normalised: the property is on the left as a ``Term``; literals have the
    property's type (dates as ``date``, CASEI/ACCENTI already applied); geometry
    literals are shapely geometries.  Raises FilterError naming what is wrong.
    ``hidden`` properties are treated as unknown (see sites.query.build_query).
    """
    c = _Checker(parameter, hidden)
    return c.node(node)


_FLIP = {ast.LessThan: ast.GreaterThan, ast.GreaterThan: ast.LessThan, ast.LessEqual: ast.GreaterEqual,
         ast.GreaterEqual: ast.LessEqual, ast.Equal: ast.Equal, ast.NotEqual: ast.NotEqual}
_INSTANT_TEMPORAL = (ast.TimeAfter, ast.TimeBefore, ast.TimeEquals, ast.TimeDisjoint, cql.TimeIntersects,
                     ast.TimeDuring)


class _Checker:
    def __init__(self, parameter, hidden=frozenset()):
        self.parameter, self.hidden = parameter, hidden

    def fail(self, message):
        raise FilterError(message, parameter=self.parameter)

    def node(self, n):
        if isinstance(n, (ast.And, ast.Or)):
            return type(n)(self.node(n.lhs), self.node(n.rhs))
        if isinstance(n, ast.Not):
            return ast.Not(self.node(n.sub_node))
        if isinstance(n, ast.Include):
            return n
        if isinstance(n, TextSearch):
            if not n.text:
                self.fail("free text is empty")
            return TextSearch(fold(n.text, ("casei",)))
        if isinstance(n, ast.Comparison):
            lhs, rhs, cls = n.lhs, n.rhs, type(n)
            if not self._is_term(lhs) and self._is_term(rhs):
                lhs, rhs, cls = rhs, lhs, _FLIP[cls]
            term, f = self.term(lhs)
            if f.type == "list":
                self.fail(f"{f.name!r} is a list; compare it with A_CONTAINS, A_OVERLAPS or A_EQUALS")
            if f.type == "boolean" and cls not in (ast.Equal, ast.NotEqual):
                self.fail(f"{f.name!r} is true/false; compare it with = or <>")
            return cls(term, self.literal(rhs, f, term, equality=cls in (ast.Equal, ast.NotEqual)))
        if isinstance(n, ast.Between):
            term, f = self.term(n.lhs)
            self._ordered(f)
            low, high = self.literal(n.low, f, term), self.literal(n.high, f, term)
            return ast.Between(term, low, high, n.not_)
        if isinstance(n, ast.Like):
            term, f = self.term(n.lhs)
            if f.type not in ("string", "enum"):
                self.fail(f"LIKE needs a text property; {f.name!r} is a {f.type}")
            pattern = self._fold_literal(n.pattern, term)
            if not isinstance(pattern, str):
                self.fail(f"the LIKE pattern for {f.name!r} must be text")
            return ast.Like(term, pattern, n.nocase, n.wildcard, n.singlechar, n.escapechar, n.not_)
        if isinstance(n, ast.In):
            term, f = self.term(n.lhs)
            if f.type == "list":
                self.fail(f"{f.name!r} is a list; use A_OVERLAPS to match any of several values")
            return ast.In(term, [self.literal(v, f, term, equality=True) for v in n.sub_nodes], n.not_)
        if isinstance(n, ast.IsNull):
            term, f = self.term(n.lhs)
            return ast.IsNull(Term(term.name), n.not_)
        if isinstance(n, ast.SpatialComparisonPredicate):
            lhs, rhs = n.lhs, n.rhs
            if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
                lhs, rhs = rhs, lhs
                n = {ast.GeometryWithin: ast.GeometryContains, ast.GeometryContains: ast.GeometryWithin}.get(
                    type(n), type(n))(lhs, rhs)
            self._geometry_attr(lhs)
            return type(n)(Term("geometry"), self.geometry(rhs))
        if isinstance(n, ast.DistanceWithin):
            self._geometry_attr(n.lhs)
            return ast.DistanceWithin(Term("geometry"), n.rhs, n.distance, n.units)
        if isinstance(n, ast.TemporalPredicate):
            return self.temporal(n)
        if isinstance(n, ast.ArrayPredicate):
            term, f = self.term(n.lhs)
            if f.type != "list":
                self.fail(f"{type(n).__name__} needs a list property (aliases, industries); {f.name!r} is not")
            items = n.rhs if isinstance(n.rhs, list) else [n.rhs]
            if not all(isinstance(i, str) for i in items):
                self.fail(f"{f.name!r} holds text; compare it with a list of text values")
            return type(n)(term, list(items))
        if isinstance(n, ast.Attribute):
            term, f = self.term(n)
            if f.type != "boolean":
                self.fail(f"{f.name!r} is not a condition")
            return ast.Equal(term, True)
        if isinstance(n, bool):
            return ast.Include(not n)
        self.fail(f"unsupported expression {type(n).__name__}")

    def _is_term(self, x):
        return isinstance(x, ast.Attribute) or (isinstance(x, ast.Function) and any(
            self._is_term(a) for a in x.arguments))

    def _unwrap(self, x):
        """CASEI(ACCENTI(x)) -> (x, ("accenti", "casei")): the transforms, innermost first."""
        transforms = []
        while isinstance(x, ast.Function):
            if x.name not in ("casei", "accenti") or len(x.arguments) != 1:
                self.fail(f"unknown function {x.name!r}")
            transforms.insert(0, x.name)
            x = x.arguments[0]
        return x, transforms

    def term(self, x) -> tuple[Term, Field]:
        x, transforms = self._unwrap(x)
        if not isinstance(x, ast.Attribute):
            self.fail("a condition needs a property on one side")
        name = x.name
        if name == "geometry":
            self.fail("geometry can only be used in spatial functions (S_INTERSECTS, ...)")
        f = None if name in self.hidden else BY_NAME.get(name)
        if f is None:
            self.fail(f"unknown property {name!r}; queryable properties: {', '.join(queryable_names(self.hidden))}")
        if transforms and f.type not in ("string", "enum"):
            self.fail(f"{transforms[-1].upper()} needs a text property; {name!r} is a {f.type}")
        return Term(name, tuple(transforms)), f

    def _fold_literal(self, value, term):
        value, transforms = self._unwrap(value)
        if isinstance(value, str):
            return fold(value, tuple(dict.fromkeys((*term.transforms, *transforms))))
        return value

    def _ordered(self, f):
        if f.type in ("list", "boolean"):
            self.fail(f"{f.name!r} cannot be compared by size")

    def literal(self, value, f: Field, term: Term, equality=False):
        if isinstance(value, (ast.Attribute, ast.Node)) and not isinstance(value, ast.Function):
            self.fail(f"{f.name!r} must be compared with a value, not another property")
        value = self._fold_literal(value, term)
        if f.type in ("integer", "number"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.fail(f"{f.name!r} is a number; {value!r} is not")
            return float(value)
        if f.type == "boolean":
            if not isinstance(value, bool):
                self.fail(f"{f.name!r} is true/false; {value!r} is not")
            return value
        if f.type == "date":
            return self._day(value, f)
        if not isinstance(value, str):
            self.fail(f"{f.name!r} is text; {value!r} is not")
        if f.type == "enum" and equality and not term.transforms and value not in f.enum:
            self.fail(f"{value!r} is not a value of {f.name!r}; values: {', '.join(f.enum)}")
        return value

    def _day(self, value, f):
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).date() if value.tzinfo else value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                pass
        self.fail(f"{f.name!r} is a date; {value!r} is not (write DATE('2024-01-31'))")

    def temporal(self, n):
        term, f = self.term(n.lhs)
        if f.type != "date":
            self.fail(f"{type(n).__name__} needs a date property; {f.name!r} is a {f.type}")
        if not isinstance(n, _INSTANT_TEMPORAL):
            self.fail(f"{type(n).__name__} compares intervals; {f.name!r} is a single day "
                      "(use T_AFTER, T_BEFORE, T_EQUALS, T_DURING, T_INTERSECTS or T_DISJOINT)")
        rhs = n.rhs
        if isinstance(rhs, values.Interval):
            start = None if rhs.start is None else self._day(rhs.start, f)
            end = None if rhs.end is None else self._day(rhs.end, f)
            if start and end and start > end:
                self.fail(f"interval starts after it ends ({start} > {end})")
            return type(n)(term, values.Interval(start, end))
        if isinstance(n, ast.TimeDuring):
            self.fail("T_DURING needs an INTERVAL(...)")
        return type(n)(term, self._day(rhs, f))

    def _geometry_attr(self, x):
        if not (isinstance(x, ast.Attribute) and x.name == "geometry"):
            name = getattr(x, "name", x)
            self.fail(f"spatial functions apply to the property 'geometry', not {name!r}")

    def geometry(self, value):
        if isinstance(value, values.Envelope):
            return box(value.x1, value.y1, value.x2, value.y2)
        if isinstance(value, values.Geometry):
            try:
                geom = shape(value.geometry)
            except Exception as exc:  # malformed GeoJSON from the parser
                self.fail(f"invalid geometry literal ({exc})")
            if geom.is_empty or not geom.is_valid:
                self.fail(f"invalid geometry literal ({geom.wkt[:60]})")
            return geom
        if hasattr(value, "geom_type"):
            return value
        self.fail("a spatial function needs a geometry literal (POINT, POLYGON, BBOX, ...) on one side")


def queryable_names(hidden: frozenset[str] = frozenset()) -> list[str]:
    return [f.name for f in FIELDS if f.name not in hidden] + ["geometry"]
