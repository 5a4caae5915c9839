"""The HTTP API end to end in process: auth, roles, idempotency, errors, bookings, search."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from sparecap.bootstrap import Platform
from sparecap.db.models import Booking, IdempotencyRecord, Resource
from tests.api.conftest import Api
from tests.support.market import Party, bays_spec, charger_spec

TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai


def window(start: datetime = TEN, hours: float = 1) -> dict[str, str]:
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


def listed(api: Api, who: Party, spec: dict | None = None) -> dict:
    response = api.post("/v1/resources", who, spec or charger_spec())
    assert response.status_code == 201, response.text
    return response.json()


def count(platform: Platform, model: type) -> int:
    with platform.db.read() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_reads_and_writes_need_a_valid_key(api: Api, people: dict[str, Party]) -> None:
    assert api.get("/v1/bookings").json()["error"]["code"] == "missing_api_key"
    stranger = Party(0, people["demander"].principal, "sk_nope")
    response = api.get("/v1/bookings", stranger)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_api_key")


def test_every_write_needs_an_idempotency_key(api: Api, people: dict[str, Party]) -> None:
    headers = {"Authorization": f"Bearer {people['provider'].key}"}
    response = api.client.post("/v1/resources", headers=headers, json=charger_spec())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_required"


def test_a_retry_replays_the_first_answer_and_writes_nothing(
    api: Api, people: dict[str, Party], platform: Platform
) -> None:
    resource = listed(api, people["provider"])
    body = {"resource_id": resource["id"], **window()}
    first = api.post("/v1/bookings", people["demander"], body, key="same")
    again = api.post("/v1/bookings", people["demander"], body, key="same")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert count(platform, Booking) == 1
    # The same key for a different request is refused, not silently replayed.
    other = api.post(
        "/v1/bookings", people["demander"], {**body, "quantity": 1, "note": "x"}, key="same"
    )
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_key_reused")
    # Keys belong to their participant: another caller's "same" is a new request.
    theirs = api.post("/v1/bookings", people["other"], body, key="same")
    assert theirs.status_code == 201 and theirs.json()["unit_id"] != first.json()["unit_id"]


def test_a_refused_request_is_replayed_as_refused(api: Api, people: dict[str, Party]) -> None:
    resource = listed(api, people["provider"], charger_spec(units=[{"name": "only"}]))
    taker = api.post(
        "/v1/bookings", people["demander"], {"resource_id": resource["id"], **window()}
    )
    body = {"resource_id": resource["id"], **window()}
    refused = api.post("/v1/bookings", people["other"], body, key="try")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["conflicts"] == [
        {"start": TEN.isoformat(), "end": (TEN + timedelta(hours=1)).isoformat()}
    ]
    api.post(f"/v1/bookings/{taker.json()['id']}/cancel", people["demander"], {})
    assert api.post("/v1/bookings", people["other"], body, key="try").status_code == 409
    assert api.post("/v1/bookings", people["other"], body, key="new").status_code == 201


def test_bad_input_gets_a_4xx_with_a_code_and_writes_nothing(
    api: Api, people: dict[str, Party], platform: Platform
) -> None:
    provider = people["provider"]
    bad_specs = [
        charger_spec(timezone="Mars/Olympus"),
        charger_spec(currency="XXX"),
        charger_spec(price_minor=-1),
        charger_spec(price_minor=1.5),
        charger_spec(lat=91),
        charger_spec(attributes={"kw": "fast"}),
        charger_spec(attributes={"kw": 60}),  # connector missing
        charger_spec(category="spaceship"),
        charger_spec(units=[{"name": "a", "capacity": 2}]),  # exclusive with capacity 2
        charger_spec(windows=[{"weekday": 7, "start_minute": 0, "end_minute": 60}]),
        {"name": "nothing else"},
    ]
    for spec in bad_specs:
        response = api.post("/v1/resources", provider, spec)
        assert 400 <= response.status_code < 500, (spec, response.text)
        assert response.json()["error"]["code"], response.text
    assert count(platform, Resource) == 0
    resource = listed(api, provider)
    naive = {
        "resource_id": resource["id"],
        "start": "2026-03-03T10:00:00",
        "end": "2026-03-03T11:00:00",
    }
    for body in (
        naive,
        {"resource_id": resource["id"], **window(hours=-1)},
        {"resource_id": 999, **window()},
        {"resource_id": resource["id"], "quantity": 0, **window()},
        {"resource_id": resource["id"], **window(TEN + timedelta(minutes=5))},
    ):
        response = api.post("/v1/bookings", people["demander"], body)
        assert 400 <= response.status_code < 500, (body, response.text)
    assert count(platform, Booking) == 0
    assert api.client.get("/v1/nowhere").json()["error"]["code"] == "not_found"


def test_every_refusal_says_what_it_means_in_both_languages(
    api: Api, people: dict[str, Party]
) -> None:
    resource = listed(api, people["provider"])
    missing = api.get("/v1/bookings/999", people["demander"]).json()["error"]
    assert missing["code"] == "unknown_booking"
    assert missing["title"] == {"en": "No such booking.", "zh-CN": "预订不存在。"}
    # A rule of the resource answers with the rule's own code and title.
    early = {"resource_id": resource["id"], **window(TEN + timedelta(minutes=5))}
    rule = api.post("/v1/bookings", people["demander"], early).json()["error"]
    assert (
        rule["code"] == "misaligned" and rule["title"]["zh-CN"] == "时间窗口未对齐资源的预订步长。"
    )
    # Each invalid field: where, its kind, pydantic's English and the zh-CN reading.
    body = {"resource_id": resource["id"], "quantity": 0, **window()}
    invalid = api.post("/v1/bookings", people["demander"], body).json()["error"]
    assert invalid["code"] == "invalid_input" and invalid["title"]["zh-CN"] == "请求内容无效。"
    (problem,) = invalid["details"]["problems"]
    assert (problem["at"], problem["type"]) == ("body.quantity", "greater_than_equal")
    assert problem["text"] == {"en": problem["message"], "zh-CN": "应不小于 1"}
    nowhere = api.client.get("/v1/nowhere").json()["error"]
    assert nowhere["title"]["zh-CN"] == "未找到。"


def test_roles_and_ownership(api: Api, people: dict[str, Party]) -> None:
    resource = listed(api, people["provider"])
    path = f"/v1/resources/{resource['id']}"
    rival = api.write("PATCH", path, people["rival"], {"price_minor": 1})
    assert rival.status_code == 403
    assert (
        api.write("PATCH", path, people["provider"], {"price_minor": 3900}).json()["price_minor"]
        == 3900
    )
    assert api.write("PATCH", path, people["operator"], {"active": False}).json()["active"] is False
    assert api.write("PATCH", path, people["auditor"], {"active": True}).status_code == 403
    assert api.post("/v1/resources", people["demander"], charger_spec()).status_code == 403
    assert (
        api.post(
            "/v1/participants",
            people["provider"],
            {"name": "x", "kind": "person", "roles": ["operator"]},
        ).status_code
        == 403
    )
    assert api.get("/v1/participants", people["auditor"]).status_code == 200
    assert api.get("/v1/participants", people["demander"]).status_code == 403


def test_demanders_see_only_their_own_bookings(api: Api, people: dict[str, Party]) -> None:
    resource = listed(api, people["provider"])
    mine = api.post(
        "/v1/bookings", people["demander"], {"resource_id": resource["id"], **window()}
    ).json()
    api.post("/v1/bookings", people["other"], {"resource_id": resource["id"], **window()})
    assert [b["id"] for b in api.get("/v1/bookings", people["demander"]).json()] == [mine["id"]]
    assert api.get(f"/v1/bookings/{mine['id']}", people["other"]).status_code == 404
    assert len(api.get("/v1/bookings", people["provider"]).json()) == 2
    assert len(api.get("/v1/bookings", people["auditor"]).json()) == 2
    assert len(api.get("/v1/bookings", people["rival"]).json()) == 0
    detail = api.get(f"/v1/bookings/{mine['id']}", people["demander"]).json()
    assert [e["event"] for e in detail["events"]] == ["hold", "book"]


def test_request_to_book_lifecycle_over_http(api: Api, people: dict[str, Party]) -> None:
    resource = listed(api, people["provider"], charger_spec(instant_book=False))
    booking = api.post(
        "/v1/bookings",
        people["demander"],
        {"resource_id": resource["id"], "hold": True, **window()},
    ).json()
    assert booking["status"] == "held" and booking["timer_event"] == "expire"
    path = f"/v1/bookings/{booking['id']}"
    wrong = api.post(f"{path}/book", people["demander"], {})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (409, "request_to_book_only")
    assert api.post(f"{path}/submit", people["demander"], {}).json()["status"] == "requested"
    assert api.post(f"{path}/accept", people["provider"], {}).json()["status"] == "confirmed"
    moved = api.post(f"{path}/reschedule", people["demander"], window(TEN + timedelta(hours=2), 2))
    assert moved.status_code == 200 and moved.json()["price_minor"] == 8000
    assert (
        api.post(f"{path}/cancel", people["demander"], {"reason": "plans changed"}).json()["status"]
        == "cancelled"
    )
    again = api.post(f"{path}/cancel", people["demander"], {})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_transition")


def test_free_time_per_unit(api: Api, people: dict[str, Party]) -> None:
    resource = listed(api, people["provider"], bays_spec(capacity=2))
    rid = resource["id"]
    api.post("/v1/bookings", people["demander"], {"resource_id": rid, "quantity": 2, **window()})
    day = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    free = api.get(
        f"/v1/resources/{rid}/free",
        people["other"],
        start=day.isoformat(),
        end=(day + timedelta(days=1)).isoformat(),
    ).json()
    (unit,) = free["units"]
    # Open 08:00-20:00 Shanghai (00:00-12:00 UTC) minus the full 10:00-11:00.
    assert unit["free"] == [
        {"start": "2026-03-03T00:00:00Z", "end": "2026-03-03T02:00:00Z"},
        {"start": "2026-03-03T03:00:00Z", "end": "2026-03-03T12:00:00Z"},
    ]


def test_search_by_category_radius_attributes_window_and_price(
    api: Api, people: dict[str, Party]
) -> None:
    near = listed(api, people["provider"], charger_spec(name="near", units=[{"name": "n1"}]))
    listed(api, people["provider"], charger_spec(name="far", lat=39.9, lon=116.4))  # Beijing
    listed(
        api,
        people["provider"],
        charger_spec(name="slow", attributes={"kw": 7, "connector": "gbt_ac"}),
    )
    listed(api, people["provider"], charger_spec(name="dear", price_minor=99900))
    query = {
        "category": "ev_charger",
        "lat": 31.23,
        "lon": 121.47,
        "radius_km": 20,
        "attributes": '{"kw": 50}',
        "max_price_minor": 5000,
        **window(),
    }
    hits = api.get("/v1/search", people["demander"], **query).json()
    assert [h["resource"]["name"] for h in hits] == ["near"]
    assert hits[0]["distance_km"] < 1
    api.post("/v1/bookings", people["other"], {"resource_id": near["id"], **window()})
    assert api.get("/v1/search", people["demander"], **query).json() == []
    bad = api.get("/v1/search", people["demander"], category="ev_charger", lat=31.2)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_search"


def test_operator_defined_category_validates_attributes(api: Api, people: dict[str, Party]) -> None:
    schema = {
        "fields": {
            "tonnes": {"type": "number", "required": True, "minimum": 0.1},
            "reefer": {"type": "boolean"},
        }
    }
    body = {
        "code": "cold_storage",
        "name_en": "Cold storage",
        "name_zh": "冷库",
        "attribute_schema": schema,
    }
    assert api.post("/v1/categories", people["provider"], body).status_code == 403
    assert api.post("/v1/categories", people["operator"], body, key="cat").status_code == 201
    assert api.post("/v1/categories", people["operator"], body, key="cat").status_code == 201
    dup = api.post("/v1/categories", people["operator"], body, key="fresh")
    assert (dup.status_code, dup.json()["error"]["code"]) == (409, "category_exists")
    broken = {**body, "code": "broken", "attribute_schema": {"fields": {"x": {"type": "colour"}}}}
    assert (
        api.post("/v1/categories", people["operator"], broken).json()["error"]["code"]
        == "invalid_schema"
    )
    spec = charger_spec(category="cold_storage", attributes={"tonnes": 0})
    response = api.post("/v1/resources", people["provider"], spec)
    assert response.json()["error"]["code"] == "invalid_attributes"
    assert (
        listed(api, people["provider"], {**spec, "attributes": {"tonnes": 12.5}})["category"]
        == "cold_storage"
    )


def test_status_page_counts_in_both_languages(api: Api, people: dict[str, Party]) -> None:
    listed(api, people["provider"])
    status = api.get("/v1/status").json()
    assert (status["participants"], status["resources"], status["units"]) == (6, 1, 2)
    english = api.client.get("/").text
    chinese = api.client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert 'id="resources">1<' in english and "Live status" in english
    assert "实时状态" in chinese and 'id="resources">1<' in chinese
    assert api.client.get("/docs").status_code == 200
    assert "/v1/bookings" in api.client.get("/openapi.json").json()["paths"]


def test_idempotency_records_commit_with_their_change(
    api: Api, people: dict[str, Party], platform: Platform
) -> None:
    listed(api, people["provider"])
    assert count(platform, IdempotencyRecord) == 1


def test_ids_and_offsets_past_the_columns_are_refused_everywhere(
    api: Api, people: dict[str, Party], platform: Platform
) -> None:
    # Ids are 32-bit on PostgreSQL and 64-bit on SQLite: past that the driver raised (a 500).
    who = people["operator"]
    for big in (2**31, 2**64):
        for path in ("bookings/{}", "resources/{}", "participants/{}", "evidence/{}",
                     "payments/{}", "resources/{}/terms"):  # fmt: skip
            assert api.get("/v1/" + path.format(big), who).status_code == 422, path
        for path, query in (("bookings", "resource_id"), ("resources", "provider_id")):
            assert api.get(f"/v1/{path}", who, **{query: big}).status_code == 422, path
        body = {"resource_id": big, **window()}
        r = api.post("/v1/bookings", people["demander"], body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")
    for path in ("bookings", "resources", "participants"):
        assert api.get(f"/v1/{path}", who, offset=2**64).status_code == 422, path
    assert count(platform, Booking) == 0


def test_a_body_over_the_cap_is_refused_before_it_is_read_whole(
    api: Api, people: dict[str, Party], platform: Platform
) -> None:
    headers = {"Authorization": f"Bearer {people['provider'].key}", "Idempotency-Key": "big",
               "Content-Type": "application/json"}  # fmt: skip
    big = json.dumps({**charger_spec(), "description": "x" * (2 * 1024 * 1024)}).encode()
    declared = api.client.post("/v1/resources", headers=headers, content=big)
    # Without a declared length (chunked), the cap applies as the body arrives.
    chunked = api.client.post(
        "/v1/resources",
        headers=headers,
        content=(big[i : i + 65536] for i in range(0, len(big), 65536)),
    )
    for r in (declared, chunked):
        assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
    assert count(platform, Resource) == 0
    small = api.client.post("/v1/resources", headers={**headers, "Idempotency-Key": "small"},
                            content=json.dumps(charger_spec()).encode())  # fmt: skip
    assert small.status_code == 201, small.text
