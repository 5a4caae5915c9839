"""The category registry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from sparecap.api.deps import MutationDep, PlatformDep
from sparecap.api.schemas import CategoryOut
from sparecap.services import categories as svc

router = APIRouter(prefix="/v1/categories", tags=["categories"])


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=2, max_length=48)
    name_en: str = Field(min_length=1, max_length=100)
    name_zh: str = Field(min_length=1, max_length=100)
    attribute_schema: dict[str, Any] = Field(
        examples=[{"fields": {"kw": {"type": "number", "required": True, "minimum": 1}}}]
    )


@router.get("", response_model=list[CategoryOut])
def list_categories(platform: PlatformDep) -> list[CategoryOut]:
    """Public: what can be listed, with each category's attribute schema."""
    with platform.db.read() as session:
        return [CategoryOut.model_validate(c) for c in svc.list_categories(session)]


@router.get("/{code}", response_model=CategoryOut)
def get_category(code: str, platform: PlatformDep) -> CategoryOut:
    with platform.db.read() as session:
        return CategoryOut.model_validate(svc.get_category(session, code=code))


@router.post("", status_code=201, response_model=CategoryOut)
def create_category(body: CategoryIn, mutation: MutationDep) -> JSONResponse:
    """Define a new category (operators only)."""

    def action(session: Session) -> CategoryOut:
        row = svc.create_category(session, principal=mutation.principal, **body.model_dump())
        return CategoryOut.model_validate(row)

    return mutation.run(action, status_code=201)
