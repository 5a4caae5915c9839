"""CSV import and export of resources: one row a resource, nested parts as JSON cells."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from sparecap.db.models import Resource
from sparecap.services.context import ServiceContext
from sparecap.services.errors import InvalidInputError, ServiceError
from sparecap.services.participants import get_participant, principal_of
from sparecap.services.resources import ResourceIn, create_resource, list_resources, spec_of

COLUMNS = (
    "category", "name", "description", "lat", "lon", "address", "timezone", "currency",
    "price_minor", "price_unit", "instant_book", "capacity_mode",
    "units", "attributes", "rules", "windows",
)  # fmt: skip
REQUIRED_COLUMNS = (
    "category",
    "name",
    "lat",
    "lon",
    "timezone",
    "currency",
    "price_minor",
    "units",
)
JSON_COLUMNS = frozenset({"units", "attributes", "rules", "windows"})
MAX_ROWS = 10_000


def _row_to_spec(row: dict[str, str]) -> ResourceIn:
    data: dict[str, Any] = {}
    for column in COLUMNS:
        cell = (row.get(column) or "").strip()
        if column in JSON_COLUMNS:
            if cell:
                data[column] = json.loads(cell)
        elif column == "instant_book":
            data[column] = cell.lower() in ("1", "true", "yes", "y", "是")
        elif cell or column not in ("description", "address"):
            data[column] = cell
    return ResourceIn.model_validate(data)


def parse_resources(text: str) -> list[ResourceIn]:
    """Every row validated; all problems reported together, with CSV line numbers."""
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or [])
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidInputError(f"CSV header lacks columns: {', '.join(missing)}", code="bad_csv")
    specs, problems = [], []
    for line, row in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            raise InvalidInputError(f"at most {MAX_ROWS} rows per import", code="bad_csv")
        try:
            specs.append(_row_to_spec(row))
        except json.JSONDecodeError as exc:
            problems.append(f"line {line}: a JSON cell does not parse: {exc.msg}")
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.append(f"line {line}: {where}: {err['msg']}")
    if problems:
        raise InvalidInputError("; ".join(problems[:20]), code="bad_csv", problems=problems)
    return specs


def import_resources(
    session: Session, *, ctx: ServiceContext, provider_id: int, text: str
) -> list[Resource]:
    """Create every resource in the CSV for one provider, or none of them."""
    specs = parse_resources(text)
    provider = principal_of(get_participant(session, participant_id=provider_id))
    created, problems = [], []
    for line, spec in enumerate(specs, start=2):
        try:
            with session.begin_nested():
                created.append(create_resource(session, ctx=ctx, principal=provider, spec=spec))
        except ServiceError as exc:
            problems.append(f"line {line}: {exc.message}")
    if problems:
        raise InvalidInputError("; ".join(problems[:20]), code="bad_csv", problems=problems)
    return created


def export_resources(session: Session, *, provider_id: int | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    offset = 0
    while batch := list_resources(session, provider_id=provider_id, limit=500, offset=offset):
        for resource in batch:
            data = spec_of(resource).model_dump(mode="json")
            cells = {c: data[c] for c in COLUMNS}
            for c in JSON_COLUMNS:
                cells[c] = json.dumps(data[c], ensure_ascii=False)
            writer.writerow(cells)
        offset += len(batch)
    return out.getvalue()
