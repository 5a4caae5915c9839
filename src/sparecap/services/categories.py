"""The category registry: built-in categories and operator-defined ones with attribute schemas."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from sparecap.db.models import Category
from sparecap.domain.categories import (
    BUILTIN_CATEGORIES,
    CODE_PATTERN,
    AttributeSchema,
    SchemaError,
    parse_schema,
    schema_to_json,
)
from sparecap.services.errors import ConflictError, InvalidInputError, NotFoundError
from sparecap.services.principals import Principal, Role


def ensure_builtin_categories(session: Session) -> None:
    """Insert the built-in categories that are missing; never touches existing rows.

    ON CONFLICT DO NOTHING, so two processes starting on a fresh database do not collide.
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [
        {
            "code": code,
            "name_en": spec["name_en"],
            "name_zh": spec["name_zh"],
            "attribute_schema": spec["schema"],
            "builtin": True,
        }
        for code, spec in BUILTIN_CATEGORIES.items()
    ]
    session.execute(insert(Category).values(rows).on_conflict_do_nothing(index_elements=["code"]))


def create_category(
    session: Session,
    *,
    principal: Principal,
    code: str,
    name_en: str,
    name_zh: str,
    attribute_schema: dict[str, Any],
) -> Category:
    principal.require(Role.OPERATOR)
    if not CODE_PATTERN.match(code):
        raise InvalidInputError("code must be lower_snake_case, 2-48 characters")
    try:
        schema = parse_schema(attribute_schema)
    except SchemaError as exc:
        raise InvalidInputError(str(exc), code="invalid_schema") from exc
    if session.scalar(select(Category.id).where(Category.code == code)) is not None:
        raise ConflictError(f"category {code!r} exists", code="category_exists")
    category = Category(
        code=code,
        name_en=name_en,
        name_zh=name_zh,
        attribute_schema=schema_to_json(schema),
        builtin=False,
    )
    session.add(category)
    session.flush()
    return category


def get_category(session: Session, *, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code))
    if category is None:
        raise NotFoundError(f"category {code!r} not found", code="unknown_category")
    return category


def list_categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.id)))


def schema_of(category: Category) -> AttributeSchema:
    return parse_schema(category.attribute_schema)
