"""The site properties as data: one table drives coercion, validation of types,
import headers (Chinese and English), exports, JSON output and queryables.

Property names are snake_case and identical in storage, CLI, API and queryables.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from . import model
from .errors import ValidationError


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # string | integer | number | boolean | date | enum | list | geometry
    label_zh: str
    label_en: str
    description: str = ""
    enum: dict | None = None  # value -> (zh, en)
    required: bool = False
    unit: str | None = None
    derived: bool = False  # computed from occupancy; read-only
    aliases: tuple[str, ...] = ()  # further accepted import headers

    @property
    def sortable(self) -> bool:
        return self.type in ("integer", "number", "date", "string", "enum", "boolean")


FIELDS: tuple[Field, ...] = (
    Field("id", "string", "编号", "ID", "Stable readable slug, never reused, e.g. qd-yunxin", required=True,
          aliases=("site_id", "编码", "载体编号")),
    Field("name_zh", "string", "名称", "Chinese name", required=True, aliases=("中文名称", "名称(中文)", "载体名称", "name")),
    Field("name_en", "string", "英文名称", "English name"),
    Field("aliases", "list", "别名", "Aliases", "Other names, separated by ; in tables"),
    Field("city", "string", "城市", "City", "City, in Chinese with 市 (青岛市)", required=True, aliases=("所在城市",)),
    Field("district", "string", "区县", "District", aliases=("所在区", "区")),
    Field("district_adcode", "string", "区县代码", "District adcode", "6-digit administrative code",
          aliases=("adcode", "行政区划代码")),
    Field("address_zh", "string", "地址", "Address", aliases=("详细地址", "address")),
    Field("kind", "enum", "类型", "Kind", enum=model.KINDS, required=True, aliases=("载体类型",)),
    Field("location_precision", "enum", "位置精度", "Location precision", enum=model.LOCATION_PRECISIONS, required=True),
    Field("location_source", "string", "位置来源", "Location source", "How the geometry was placed"),
    Field("former_use", "string", "原用途", "Former use"),
    Field("current_use", "string", "现用途", "Current use"),
    Field("year_built", "integer", "建成年份", "Year built"),
    Field("heritage_grade", "enum", "保护等级", "Heritage grade", enum=model.HERITAGE_GRADES),
    Field("in_historic_area", "boolean", "位于历史城区", "In historic area"),
    Field("floors", "integer", "层数", "Floors"),
    Field("gross_floor_area_m2", "number", "建筑面积", "Gross floor area", unit="m²", aliases=("建筑面积(㎡)", "建筑面积(m2)")),
    Field("leasable_area_m2", "number", "可租面积", "Leasable area", unit="m²", aliases=("可租面积(㎡)", "可租面积(m2)")),
    Field("status", "enum", "状态", "Status", enum=model.STATUSES, required=True, aliases=("使用状态",)),
    Field("operator", "string", "运营方", "Operator", aliases=("运营主体",)),
    Field("operator_contact", "string", "运营方联系方式", "Operator contact", "Contact person and phone",
          aliases=("联系方式", "联系人", "contact")),
    Field("industries", "list", "产业方向", "Industries", "Separated by ; in tables"),
    Field("rent_cny_per_m2_day", "number", "租金", "Rent", unit="元/㎡·天", aliases=("租金(元/㎡·天)",)),
    Field("vacant_since", "date", "空置起始", "Vacant since"),
    Field("data_status", "enum", "数据状态", "Data status", enum=model.DATA_STATUSES, required=True),
    Field("source", "string", "来源", "Source", aliases=("数据来源",)),
    Field("first_added", "date", "首次录入", "First added"),
    Field("last_updated", "date", "最后更新", "Last updated"),
    Field("version", "integer", "版本", "Version", "Bumped on every write", derived=True),
    # derived from the current occupancy
    Field("survey_date", "date", "调查日期", "Survey date", "Date of the current occupancy", derived=True),
    Field("occupied_area_m2", "number", "已用面积", "Occupied area", unit="m²", derived=True),
    Field("tenant_count", "integer", "入驻企业数", "Tenants", derived=True),
    Field("idle_area_m2", "number", "闲置面积", "Idle area", unit="m²", derived=True),
    Field("vacancy_rate", "number", "空置率", "Vacancy rate", "0..1", derived=True),
    Field("occupancy_basis", "enum", "入驻数据依据", "Occupancy basis", "units or survey",
          enum={"survey": ("最新调查", "Latest survey"), "units": ("单元汇总", "Units")}, derived=True),
    Field("occupancy_data_status", "enum", "入驻数据状态", "Occupancy data status",
          "data status of the current occupancy (a reported site may carry sample figures)",
          enum=model.DATA_STATUSES, derived=True),
)
BY_NAME = {f.name: f for f in FIELDS}
#: the fields a record is written with (everything not derived)
STORED = tuple(f for f in FIELDS if not f.derived)
GEOMETRY = "geometry"

SURVEY_FIELDS: tuple[Field, ...] = (
    Field("site_id", "string", "编号", "Site ID", required=True, aliases=("id",)),
    Field("survey_date", "date", "调查日期", "Survey date", required=True),
    Field("leasable_area_m2", "number", "可租面积", "Leasable area", unit="m²"),
    Field("occupied_area_m2", "number", "已用面积", "Occupied area", unit="m²"),
    Field("tenant_count", "integer", "入驻企业数", "Tenants"),
    Field("source", "string", "来源", "Source"),
    Field("data_status", "enum", "数据状态", "Data status", enum=model.DATA_STATUSES, required=True),
)
UNIT_FIELDS: tuple[Field, ...] = (
    Field("site_id", "string", "编号", "Site ID", required=True, aliases=("id",)),
    Field("floor", "string", "楼层", "Floor", required=True),
    Field("unit_label", "string", "单元", "Unit", required=True),
    Field("area_m2", "number", "面积", "Area", unit="m²", required=True),
    Field("status", "enum", "状态", "Status", enum=model.UNIT_STATUSES, required=True),
    Field("tenant", "string", "租户", "Tenant"),
    Field("updated_on", "date", "更新日期", "Updated on"),
)

_TRUE = {"true", "1", "yes", "y", "t", "是", "对", "√"}
_FALSE = {"false", "0", "no", "n", "f", "否", "不", "×"}


def is_blank(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and raw.strip() in ("", "-", "—", "NA", "N/A", "null", "None", "无数据")


def coerce(f: Field, raw: Any) -> Any:
    """Turn a raw value (text from a table, JSON value) into the field's Python type.

    Raises ValidationError naming the field; the caller adds row and site.
    """
    if is_blank(raw):
        if f.required:
            raise ValidationError("is required", field=f.name)
        return () if f.type == "list" else None
    try:
        return _COERCE[f.type](f, raw)
    except ValidationError:
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"{raw!r} is not a valid {f.type} ({exc})", field=f.name) from None


def _string(f, raw):
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # Excel turns codes like 370202 into floats
    return str(raw).strip()


def _integer(f, raw):
    if isinstance(raw, bool):
        raise ValueError("boolean")
    value = float(str(raw).replace(",", "").strip()) if not isinstance(raw, (int, float)) else raw
    if not math.isfinite(float(value)) or not float(value).is_integer():
        raise ValueError("not a whole number")
    if abs(value) > 2**53:  # beyond what every store and JSON client hold exactly
        raise ValueError("too large")
    return int(value)


def _number(f, raw):
    if isinstance(raw, bool):
        raise ValueError("boolean")
    value = float(str(raw).replace(",", "").replace("，", "").strip()) if not isinstance(raw, (int, float)) else float(raw)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


def _boolean(f, raw):
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(f"{raw!r} is not yes/no (accepted: true/false, 1/0, 是/否)", field=f.name)


def _date(f, raw):
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip().replace("/", "-").replace(".", "-")
    if "T" in text or " " in text:
        text = text.replace(" ", "T").split("T")[0]
    return date.fromisoformat(text)


def _enum(f, raw):
    text = str(raw).strip()
    key = text.lower().replace(" ", "_").replace("-", "_")
    if key in f.enum:
        return key
    for value, labels in f.enum.items():  # Chinese or English label accepted too
        if text in labels or text.lower() in (label.lower() for label in labels):
            return value
    raise ValidationError(f"{raw!r} is not one of {', '.join(f.enum)}", field=f.name)


def _list(f, raw):
    if isinstance(raw, (list, tuple)):
        items = raw
    else:
        text = str(raw).strip()
        if text.startswith("["):
            items = json.loads(text)
        else:
            items = text.replace("；", ";").replace("、", ";").replace("|", ";").split(";")
    return tuple(str(i).strip() for i in items if str(i).strip())


_COERCE = {"string": _string, "integer": _integer, "number": _number, "boolean": _boolean,
           "date": _date, "enum": _enum, "list": _list}


def label(f: Field, lang: str) -> str:
    text = f.label_zh if lang == "zh" else f.label_en
    return f"{text}({f.unit})" if f.unit else text


def enum_label(f: Field, value: str | None, lang: str) -> str | None:
    if value is None or not f.enum or value not in f.enum:
        return value
    return f.enum[value][0 if lang == "zh" else 1]


def header_index(fields: tuple[Field, ...]) -> dict[str, str]:
    """Every accepted column header (normalised) -> field name."""
    index = {}
    for f in fields:
        for h in (f.name, f.label_zh, f.label_en, label(f, "zh"), label(f, "en"), *f.aliases):
            index[normalize_header(h)] = f.name
    return index


def normalize_header(text: str) -> str:
    return (str(text).strip().lower().replace("（", "(").replace("）", ")")
            .replace("㎡", "m2").replace("m²", "m2").replace(" ", "_").lstrip("\ufeff"))


_STORED_NAMES = tuple(f.name for f in FIELDS if not f.derived and f.name != "version")

#: the fields confidential unless a deployment says otherwise (web setting CONFIDENTIAL_FIELDS): rents
#: and contacts are commercial data, the units' tenant names personal or commercial
CONFIDENTIAL_DEFAULT = ("rent_cny_per_m2_day", "operator_contact", "tenant")
_LAST = tuple(n for n in _STORED_NAMES if n in CONFIDENTIAL_DEFAULT)  # site_properties' last ones


def site_properties(site: model.Site) -> dict[str, Any]:
    """Every property of a site as JSON-ready values, derived ones included, plus lon/lat.
    (On the hot path of every API page: plain loops, the occupancy read once.)"""
    out: dict[str, Any] = {}
    values = site.__dict__
    for name in _STORED_NAMES:
        value = values[name]
        kind = type(value)
        if kind is date:
            value = value.isoformat()
        elif kind is tuple:
            value = list(value)
        elif kind is float:
            value = round(value, 6)
        out[name] = value
    out["version"] = site.version
    occ = site.occupancy
    if occ is None:
        out.update(survey_date=None, occupied_area_m2=None, tenant_count=None, idle_area_m2=None,
                   vacancy_rate=None, occupancy_basis=None, occupancy_data_status=None)
    else:
        idle, rate = occ.idle_area_m2, occ.vacancy_rate
        out.update(survey_date=occ.as_of.isoformat() if occ.as_of else None,
                   occupied_area_m2=occ.occupied_area_m2, tenant_count=occ.tenant_count,
                   idle_area_m2=None if idle is None else round(idle, 6),
                   vacancy_rate=None if rate is None else round(rate, 6), occupancy_basis=occ.basis,
                   occupancy_data_status=site.occupancy_data_status)
    point = site.geometry if site.geometry.geom_type == "Point" else site.geometry.representative_point()
    out["lon"], out["lat"] = round(point.x, 7), round(point.y, 7)
    for name in _LAST:  # in property_names' order
        out[name] = out.pop(name)
    return out


def redact(site: model.Site, hidden: frozenset[str]) -> model.Site:
    """The site with the hidden (confidential) fields emptied: what may leave the server."""
    names = [f.name for f in STORED if f.name in hidden]
    return site.replace(**{n: () if BY_NAME[n].type == "list" else None for n in names}) if names else site


def redact_units(units: list[model.Unit], hidden: frozenset[str]) -> list[model.Unit]:
    """Units without tenant names when ``tenant`` is hidden."""
    if "tenant" not in hidden:
        return units
    import dataclasses
    return [dataclasses.replace(u, tenant=None) for u in units]


def property_names(hidden: frozenset[str] = frozenset()) -> list[str]:
    """The properties of a site feature (site_properties without id), the hidden ones left out: the
    fields in schema order, lon and lat, then the ones confidential by default, so that what most
    callers are shown is a prefix of the whole (the GeoPackage store keeps the two parts rendered)."""
    names = [f.name for f in FIELDS if f.name != "id"] + ["lon", "lat"]
    last = [n for n in names if n in CONFIDENTIAL_DEFAULT]
    return [n for n in names if n not in hidden and n not in last] + [n for n in last if n not in hidden]


def to_json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float):
        return round(value, 6)
    return value
