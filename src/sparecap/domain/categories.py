"""Categories and their typed attribute schemas; validation and matching of attributes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FieldType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ENUM = "enum"
    STRING_LIST = "string_list"


@dataclass(frozen=True, slots=True)
class AttributeField:
    type: FieldType
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values for ENUM and, if given, STRING_LIST items
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class AttributeSchema:
    fields: Mapping[str, AttributeField] = field(default_factory=dict)


class SchemaError(ValueError):
    """A category schema that is itself malformed."""


class AttributeValidationError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,47}$")


def parse_schema(raw: Mapping[str, Any]) -> AttributeSchema:
    """Build a schema from its JSON form: {"fields": {name: {"type": ..., ...}}}."""
    fields_raw = raw.get("fields", {})
    if not isinstance(fields_raw, Mapping):
        raise SchemaError("schema 'fields' must be an object")
    fields: dict[str, AttributeField] = {}
    for name, spec in fields_raw.items():
        if not CODE_PATTERN.match(name):
            raise SchemaError(f"field name {name!r} must be lower_snake_case")
        if not isinstance(spec, Mapping):
            raise SchemaError(f"field {name!r} must be an object")
        try:
            ftype = FieldType(str(spec.get("type")))
        except ValueError:
            known = ", ".join(t.value for t in FieldType)
            raise SchemaError(f"field {name!r}: type must be one of {known}") from None
        values = tuple(spec.get("values", ()))
        if ftype is FieldType.ENUM and not values:
            raise SchemaError(f"field {name!r}: an enum needs 'values'")
        unknown = set(spec) - {"type", "required", "values", "minimum", "maximum"}
        if unknown:
            raise SchemaError(f"field {name!r}: unknown keys {sorted(unknown)}")
        fields[name] = AttributeField(
            type=ftype,
            required=bool(spec.get("required", False)),
            values=values,
            minimum=spec.get("minimum"),
            maximum=spec.get("maximum"),
        )
    return AttributeSchema(fields)


def schema_to_json(schema: AttributeSchema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, f in schema.fields.items():
        spec: dict[str, Any] = {"type": f.type.value, "required": f.required}
        if f.values:
            spec["values"] = list(f.values)
        if f.minimum is not None:
            spec["minimum"] = f.minimum
        if f.maximum is not None:
            spec["maximum"] = f.maximum
        out[name] = spec
    return {"fields": out}


def _check_value(name: str, f: AttributeField, value: Any) -> str | None:  # noqa: PLR0911
    match f.type:
        case FieldType.STRING:
            return None if isinstance(value, str) and value else f"{name}: expected text"
        case FieldType.BOOLEAN:
            return None if isinstance(value, bool) else f"{name}: expected true or false"
        case FieldType.INTEGER | FieldType.NUMBER:
            ok_type = int if f.type is FieldType.INTEGER else (int, float)
            if isinstance(value, bool) or not isinstance(value, ok_type):
                return f"{name}: expected a {f.type.value}"
            if f.minimum is not None and value < f.minimum:
                return f"{name}: {value} is below the minimum {f.minimum}"
            if f.maximum is not None and value > f.maximum:
                return f"{name}: {value} is above the maximum {f.maximum}"
            return None
        case FieldType.ENUM:
            if value in f.values:
                return None
            return f"{name}: {value!r} is not one of {list(f.values)}"
        case FieldType.STRING_LIST:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                return f"{name}: expected a list of text values"
            bad = [v for v in value if f.values and v not in f.values]
            return f"{name}: {bad} not among {list(f.values)}" if bad else None
    return None  # pragma: no cover - the match is exhaustive


def validate_attributes(schema: AttributeSchema, attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Check attributes against the schema; return them or raise with every problem listed."""
    problems = [f"{name}: unknown attribute" for name in attributes if name not in schema.fields]
    for name, f in schema.fields.items():
        if name not in attributes:
            if f.required:
                problems.append(f"{name}: required")
            continue
        problem = _check_value(name, f, attributes[name])
        if problem:
            problems.append(problem)
    if problems:
        raise AttributeValidationError(problems)
    return dict(attributes)


def satisfies(
    schema: AttributeSchema, attributes: Mapping[str, Any], required: Mapping[str, Any]
) -> bool:
    """Does a resource with `attributes` meet a demand's `required` attributes?

    Numbers are minimums (a 60 kW charger meets "kw: 50"), lists must contain every required
    item (a line certified for GB 19083 and CE meets ["GB 19083"]), anything else must be equal.
    """
    for name, wanted in required.items():
        have = attributes.get(name)
        f = schema.fields.get(name)
        if f is None or have is None:
            return False
        if f.type in (FieldType.INTEGER, FieldType.NUMBER):
            if not isinstance(wanted, int | float) or have < wanted:
                return False
        elif f.type is FieldType.STRING_LIST:
            wanted_items = wanted if isinstance(wanted, list) else [wanted]
            if not set(wanted_items) <= set(have):
                return False
        elif have != wanted:
            return False
    return True


def _fields(**specs: dict[str, Any]) -> dict[str, Any]:
    return {"fields": specs}


# Connector names follow GB/T 20234 (China) and IEC 62196 (Type 2, CCS2); CHAdeMO is its own
# standard. Mask and suit certifications are the Chinese and EU standards factories list.
BUILTIN_CATEGORIES: dict[str, dict[str, Any]] = {
    "production_line": {
        "name_en": "Production line",
        "name_zh": "生产线",
        "schema": _fields(
            products={"type": "string_list", "required": True},
            certifications={"type": "string_list"},
            output_unit={"type": "string"},
        ),
    },
    "machine_tool": {
        "name_en": "Machine tool hours",
        "name_zh": "机床工时",
        "schema": _fields(
            machine_type={
                "type": "enum",
                "required": True,
                "values": ["cnc_mill", "cnc_lathe", "laser_cutter", "3d_printer", "injection_mold"],
            },
            axes={"type": "integer", "minimum": 1, "maximum": 9},
            max_workpiece_mm={"type": "number", "minimum": 0},
            materials={"type": "string_list"},
        ),
    },
    "parking_bay": {
        "name_en": "Parking bay",
        "name_zh": "停车位",
        "schema": _fields(
            covered={"type": "boolean"},
            ev_ready={"type": "boolean"},
            max_height_m={"type": "number", "minimum": 0},
            vehicle={"type": "enum", "values": ["car", "van", "truck", "motorcycle"]},
        ),
    },
    "ev_charger": {
        "name_en": "EV charger",
        "name_zh": "充电桩",
        "schema": _fields(
            kw={"type": "number", "required": True, "minimum": 1, "maximum": 1000},
            connector={
                "type": "enum",
                "required": True,
                "values": ["gbt_dc", "gbt_ac", "ccs2", "type2", "chademo"],
            },
        ),
    },
    "battery_swap": {
        "name_en": "Battery-swap station",
        "name_zh": "换电站",
        "schema": _fields(
            battery_models={"type": "string_list", "required": True},
            swaps_per_hour={"type": "integer", "minimum": 1},
        ),
    },
    "worker_hours": {
        "name_en": "Spare working hours",
        "name_zh": "闲时工时",
        "schema": _fields(
            skills={"type": "string_list", "required": True},
            languages={"type": "string_list"},
            certifications={"type": "string_list"},
        ),
    },
}
