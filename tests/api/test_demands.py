"""Demands, quotes, instant match and rounds over HTTP: roles, codes, idempotency, no writes
on refusal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sparecap.bootstrap import Platform
from sparecap.domain.names import reason_message
from sparecap.services.demands import MAX_DEMAND_HORIZON
from tests.api.conftest import Api
from tests.conftest import T0
from tests.support.market import Party, charger_spec, make_resource

TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def demand_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "ev_charger",
        "attributes": {"kw": 50},
        "quantity": 1,
        "quantity_unit": "hours",
        "earliest_start": TEN.isoformat(),
        "deadline": (TEN + 4 * HOUR).isoformat(),
        "lat": 31.23,
        "lon": 121.47,
        "max_distance_km": 10,
        "max_price_minor": 5000,
        "currency": "CNY",
    }
    body.update(overrides)
    return body


def test_post_match_and_explain(api: Api, platform: Platform, people: dict[str, Party]) -> None:
    make_resource(platform, people["provider"], charger_spec())
    r = api.post("/v1/demands", people["demander"], demand_body(), key="d1")
    assert r.status_code == 201, r.text
    demand = r.json()
    assert demand["status"] == "open" and demand["category"] == "ev_charger"
    assert api.post("/v1/demands", people["demander"], demand_body(), key="d1").json() == demand
    assert api.post("/v1/demands", people["provider"], demand_body()).status_code == 403
    matched = api.post(f"/v1/demands/{demand['id']}/match", people["demander"], {})
    assert matched.status_code == 200, matched.text
    assert matched.json()["matches"][0]["cost"]["total"] == 4000
    why = api.get(f"/v1/demands/{demand['id']}/explanation", people["demander"]).json()
    assert why["demand"]["status"] == "matched" and len(why["matches"]) == 1
    booking_id = why["matches"][0]["booking_id"]
    booking = api.get(f"/v1/bookings/{booking_id}", people["demander"]).json()
    assert booking["status"] == "held"
    assert api.get(f"/v1/demands/{demand['id']}", people["other"]).status_code == 404


def test_bad_input_writes_nothing(api: Api, people: dict[str, Party]) -> None:
    bad = api.post("/v1/demands", people["demander"], demand_body(attributes={"kw": "x"}))
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_attributes")
    late = api.post("/v1/demands", people["demander"], demand_body(deadline=TEN.isoformat()))
    assert (late.status_code, late.json()["error"]["code"]) == (422, "invalid_input")
    assert api.get("/v1/demands", people["operator"]).json() == []


def test_rounds_are_for_operators_and_explain_misses(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    d = api.post("/v1/demands", people["demander"], demand_body(max_price_minor=1)).json()
    assert api.post("/v1/rounds", people["demander"], {}).status_code == 403
    assert api.post("/v1/rounds", people["auditor"], {}).status_code == 403
    r = api.post("/v1/rounds", people["operator"], {"fairness_share": 0.5})
    assert r.status_code == 201, r.text
    result = r.json()
    assert result["unmatched"] == [
        {"round_id": result["round"]["id"], "demand_id": d["id"],
         "reason": "no_capacity_in_radius", "message": reason_message("no_capacity_in_radius"),
         "detail": result["unmatched"][0]["detail"]}
    ]  # fmt: skip
    seen = api.get(f"/v1/rounds/{result['round']['id']}", people["auditor"])
    assert seen.status_code == 200 and seen.json()["round"]["demands"] == 1
    assert api.get(f"/v1/rounds/{result['round']['id']}", people["demander"]).status_code == 404
    why = api.get(f"/v1/demands/{d['id']}/explanation", people["demander"]).json()
    assert why["unmatched"][0]["reason"] == "no_capacity_in_radius"


def test_quote_negotiation_over_http(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    resource = make_resource(platform, people["provider"], charger_spec())
    rival = make_resource(platform, people["rival"], charger_spec(name="rival"))
    d = api.post("/v1/demands", people["demander"], demand_body()).json()
    quote = {"resource_id": resource, "price_minor": 3900, "quantity": 1,
             "start": (TEN + HOUR).isoformat(), "end": (TEN + 2 * HOUR).isoformat()}  # fmt: skip
    stolen = api.post(f"/v1/demands/{d['id']}/quotes", people["rival"], quote)
    assert stolen.status_code == 403
    q = api.post(f"/v1/demands/{d['id']}/quotes", people["provider"], quote)
    assert q.status_code == 201, q.text
    assert api.post(f"/v1/quotes/{q.json()['id']}/accept", people["provider"]).status_code == 409
    c = api.post(f"/v1/quotes/{q.json()['id']}/counter", people["demander"], {"price_minor": 3500})
    assert c.status_code == 201 and c.json()["parent_id"] == q.json()["id"]
    ok = api.post(f"/v1/quotes/{c.json()['id']}/accept", people["provider"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["match"]["price_minor"] == 3500 and ok.json()["quote"]["status"] == "accepted"
    listed = api.get(f"/v1/demands/{d['id']}/quotes", people["demander"]).json()
    assert [x["status"] for x in listed] == ["countered", "accepted"]
    assert api.get("/v1/matches", people["rival"]).json() == []
    del rival


def test_instants_beyond_what_a_round_can_compute_are_refused(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    # Past datetime's range once in UTC, or so near its edge that a round's slack overflows:
    # either was a 500, and the second, once stored, made every round a 500.
    resource = make_resource(platform, people["provider"], charger_spec())
    for bad in (
        {"deadline": "9999-12-31T23:00:00-12:00"},
        {"earliest_start": "0001-01-01T00:00:00+14:00"},
        {"deadline": "9999-12-31T23:59:59+00:00"},
        {"earliest_start": "0001-01-01T00:00:00+00:00"},
    ):
        r = api.post("/v1/demands", people["demander"], demand_body(**bad))
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), bad
    assert api.get("/v1/demands", people["operator"]).json() == []
    d = api.post("/v1/demands", people["demander"], demand_body()).json()
    quote = {"resource_id": resource, "price_minor": 3900, "quantity": 1,
             "start": (TEN + HOUR).isoformat(), "end": (TEN + 2 * HOUR).isoformat()}  # fmt: skip
    q = api.post(f"/v1/demands/{d['id']}/quotes", people["provider"], quote).json()
    far = {"price_minor": 1, "start": "0001-01-01T00:00:00+01:00"}
    c = api.post(f"/v1/quotes/{q['id']}/counter", people["demander"], far)
    assert (c.status_code, c.json()["error"]["code"]) == (422, "invalid_input")
    assert api.get(f"/v1/quotes/{q['id']}", people["demander"]).json()["status"] == "offered"
    assert api.post("/v1/rounds", people["operator"], {}).status_code == 201


def test_required_attributes_of_the_wrong_shape_are_refused(
    api: Api, people: dict[str, Party]
) -> None:
    # A list item that is not text reached the round's set() and made every round a 500.
    for category, attributes in (
        ("worker_hours", {"skills": [{"a": 1}]}),
        ("worker_hours", {"skills": [["cad"]]}),
        ("worker_hours", {"skills": [1]}),
        ("production_line", {"output_unit": 5}),
        ("parking_bay", {"covered": "yes"}),
    ):
        body = demand_body(category=category, attributes=attributes)
        r = api.post("/v1/demands", people["demander"], body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_attributes"), body
    for number in ("NaN", "Infinity", "-Infinity"):  # Python's JSON reader takes them
        raw = json.dumps(demand_body()).replace('"kw": 50', f'"kw": {number}')
        headers = {"Authorization": f"Bearer {people['demander'].key}", "Idempotency-Key": number,
                   "Content-Type": "application/json"}  # fmt: skip
        r = api.client.post("/v1/demands", content=raw, headers=headers)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_attributes"), number
    assert api.get("/v1/demands", people["operator"]).json() == []
    ok = demand_body(category="worker_hours", attributes={"skills": "cad"})
    assert api.post("/v1/demands", people["demander"], ok).status_code == 201
    assert api.post("/v1/rounds", people["operator"], {}).status_code == 201


def test_a_quote_an_operator_wrote_for_a_provider_is_the_demanders_to_accept(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    # The provider is on the side that wrote it: its acceptance booked in the demander's name
    # without the demander's word.
    resource = make_resource(platform, people["provider"], charger_spec())
    d = api.post("/v1/demands", people["demander"], demand_body()).json()
    quote = {"resource_id": resource, "price_minor": 3900, "quantity": 1,
             "start": (TEN + HOUR).isoformat(), "end": (TEN + 2 * HOUR).isoformat()}  # fmt: skip
    q = api.post(f"/v1/demands/{d['id']}/quotes", people["operator"], quote).json()
    own = api.post(f"/v1/quotes/{q['id']}/accept", people["provider"])
    assert (own.status_code, own.json()["error"]["code"]) == (409, "forbidden_transition")
    countered = api.post(f"/v1/quotes/{q['id']}/counter", people["provider"], {"price_minor": 1})
    assert countered.status_code == 409
    assert api.get("/v1/matches", people["operator"]).json() == []
    withdrawn = api.post(f"/v1/quotes/{q['id']}/withdraw", people["provider"])
    assert withdrawn.status_code == 200, withdrawn.text
    q = api.post(f"/v1/demands/{d['id']}/quotes", people["operator"], quote).json()
    ok = api.post(f"/v1/quotes/{q['id']}/accept", people["demander"])
    assert ok.status_code == 200, ok.text


def test_ids_past_the_id_columns_are_refused(api: Api, people: dict[str, Party]) -> None:
    # Ids are 32-bit on PostgreSQL and 64-bit on SQLite; neither could bind a larger one, and
    # every one of these was a 500.
    who = people["operator"]
    d = api.post("/v1/demands", people["demander"], demand_body()).json()
    quote = {"price_minor": 3900, "quantity": 1,
             "start": (TEN + HOUR).isoformat(), "end": (TEN + 2 * HOUR).isoformat()}  # fmt: skip
    for big in (2**31, 2**64):
        reads = ("demands/{}", "demands/{}/explanation", "demands/{}/quotes", "quotes/{}",
                 "rounds/{}")  # fmt: skip
        for path in reads:
            assert api.get("/v1/" + path.format(big), who).status_code == 422, path
        for query in ({"demand_id": big}, {"round_id": big}):
            assert api.get("/v1/matches", who, **query).status_code == 422, query
        for path in ("demands/{}/withdraw", "demands/{}/match", "quotes/{}/accept"):
            assert api.post("/v1/" + path.format(big), who, {}).status_code == 422, path
        body = {**quote, "resource_id": big}
        r = api.post(f"/v1/demands/{d['id']}/quotes", people["provider"], body)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")


def test_offsets_past_64_bits_are_refused(api: Api, people: dict[str, Party]) -> None:
    # SQL's OFFSET is a signed 64-bit integer: a larger one was a 500.
    for path in ("/v1/demands", "/v1/matches", "/v1/rounds"):
        r = api.get(path, people["operator"], offset=2**63)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), path
        assert api.get(path, people["operator"], offset=2**63 - 1).json() == [], path


def test_a_list_price_past_what_money_holds_is_above_the_ceiling(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    # Ten hours at the largest list price is past MAX_MINOR: the hold's pricing raised a
    # MoneyError. Ten thousand is past a signed 64-bit integer: the candidate filter's price
    # array overflowed. Either made every round a 500.
    make_resource(platform, people["provider"], charger_spec(price_minor=10**15))
    for hours in (10, 10**4):
        body = demand_body(quantity=hours, max_price_minor=10**15,
                           deadline=(TEN + 12 * HOUR).isoformat())  # fmt: skip
        assert api.post("/v1/demands", people["demander"], body).status_code == 201
    r = api.post("/v1/rounds", people["operator"], {})
    assert r.status_code == 201, r.text
    assert [u["reason"] for u in r.json()["unmatched"]] == ["above_price_ceiling"] * 2


def test_a_hold_its_tariff_cannot_price_fails_alone(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    # The list price passes the ceiling, but the tariff prices ten hours past MAX_MINOR: the
    # MoneyError was a 500 for a direct booking and for the whole round.
    cheap = make_resource(platform, people["provider"], charger_spec())
    make_resource(platform, people["rival"], charger_spec(name="rival"))
    hourly = {"dimension": "time", "price_minor": 10**15}
    dear = {"tariff": {"elements": [{"components": [hourly]}]}}
    terms = api.write("PUT", f"/v1/resources/{cheap}/terms", people["provider"], dear)
    assert terms.status_code == 200, terms.text
    body = demand_body(quantity=10, deadline=(TEN + 12 * HOUR).isoformat())
    booking = {"resource_id": cheap, "start": TEN.isoformat(), "end": (TEN + 10 * HOUR).isoformat()}
    b = api.post("/v1/bookings", people["other"], booking)
    assert (b.status_code, b.json()["error"]["code"]) == (422, "invalid_tariff")
    d = api.post("/v1/demands", people["demander"], body).json()
    r = api.post("/v1/rounds", people["operator"], {})
    assert r.status_code == 201, r.text
    assert [m["demand_id"] for m in r.json()["matches"]] == [d["id"]]
    assert r.json()["matches"][0]["resource_id"] != cheap


def test_a_demand_window_reaches_a_year_ahead_at_most(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    # A round expands every candidate resource's plan over its demands' windows: one demand
    # open for three thousand years kept a round busy for minutes, for everyone.
    make_resource(platform, people["provider"], charger_spec())
    far = demand_body(deadline=(T0 + MAX_DEMAND_HORIZON + timedelta(seconds=1)).isoformat())
    r = api.post("/v1/demands", people["demander"], far)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_window")
    assert api.get("/v1/demands", people["operator"]).json() == []
    # A start long past costs nothing either: the round looks from now on, and still finds
    # the first free hour.
    body = demand_body(earliest_start="1970-01-01T00:00:00Z",
                       deadline=(T0 + MAX_DEMAND_HORIZON).isoformat())  # fmt: skip
    d = api.post("/v1/demands", people["demander"], body).json()
    r = api.post("/v1/rounds", people["operator"], {})
    assert [m["demand_id"] for m in r.json()["matches"]] == [d["id"]], r.text
    assert r.json()["matches"][0]["start_at"] == "2026-03-02T00:00:00Z"


def test_strangers_learn_nothing_of_a_demand_that_is_no_longer_live(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    # Liveness was checked before who may see it: a rival got 409 demand_not_live ("demand 1
    # is matched") where a read of the same demand or quote answers 404.
    resource = make_resource(platform, people["provider"], charger_spec())
    make_resource(platform, people["rival"], charger_spec(name="rival"))
    d = api.post("/v1/demands", people["demander"], demand_body()).json()
    quote = {"resource_id": resource, "price_minor": 3900, "quantity": 1,
             "start": (TEN + HOUR).isoformat(), "end": (TEN + 2 * HOUR).isoformat()}  # fmt: skip
    q = api.post(f"/v1/demands/{d['id']}/quotes", people["provider"], quote).json()
    api.post(f"/v1/demands/{d['id']}/withdraw", people["demander"])
    for who in ("rival", "other"):
        for event in ("accept", "decline", "withdraw"):
            r = api.post(f"/v1/quotes/{q['id']}/{event}", people[who])
            assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_quote"), who
    r = api.post(f"/v1/demands/{d['id']}/quotes", people["rival"], quote)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_demand")
    r = api.post(f"/v1/quotes/{q['id']}/decline", people["demander"])
    assert (r.status_code, r.json()["error"]["code"]) == (409, "demand_not_live")


def test_instant_match_takes_no_body(api: Api, people: dict[str, Party]) -> None:
    # docs/api.md: the body is optional; without one the answer was 422 "body: Field required".
    d = api.post("/v1/demands", people["demander"], demand_body()).json()
    r = api.post(f"/v1/demands/{d['id']}/match", people["demander"])
    assert r.status_code == 200, r.text
    assert r.json()["round"]["weights"] == {"price": 1, "per_km": 100, "per_hour_late": 50}


def test_a_round_takes_no_body(api: Api, people: dict[str, Party]) -> None:
    # Without a body the defaults apply, as for an instant match (it was 422, body required).
    api.post("/v1/demands", people["demander"], demand_body())
    r = api.post("/v1/rounds", people["operator"])
    assert r.status_code == 201, r.text
    assert r.json()["round"]["demands"] == 1


def test_every_miss_says_why_in_english_and_chinese(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    # DESIGN.md: every message in zh-CN and English. A miss carried only its reason code, which
    # a demander cannot read.
    make_resource(platform, people["provider"], charger_spec())
    d = api.post("/v1/demands", people["demander"], demand_body(max_price_minor=1)).json()
    said = {
        "en": "All capacity that fits costs more than your price ceiling.",
        "zh-CN": "所有符合要求的产能价格都高于您设定的限价。",
    }
    instant = api.post(f"/v1/demands/{d['id']}/match", people["demander"]).json()
    assert [(u["reason"], u["message"]) for u in instant["unmatched"]] == [
        ("above_price_ceiling", said)
    ]
    batch = api.post("/v1/rounds", people["operator"], {}).json()
    assert [u["message"] for u in batch["unmatched"]] == [said]
    seen = api.get(f"/v1/rounds/{batch['round']['id']}", people["auditor"]).json()
    assert [u["message"] for u in seen["unmatched"]] == [said]
    why = api.get(f"/v1/demands/{d['id']}/explanation", people["demander"]).json()
    assert [u["message"] for u in why["unmatched"]] == [said, said]
    schema = api.client.get("/openapi.json").json()["components"]["schemas"]["UnmatchedOut"]
    assert "message" in schema["required"]


def test_an_event_the_route_does_not_take_is_a_stable_422(
    api: Api, people: dict[str, Party]
) -> None:
    # One code, one status: invalid_transition is 409 (the state forbids it); an event that
    # is the engine's to make, or has its own call, is 422 unsupported_event.
    d = api.post("/v1/demands", people["demander"], demand_body()).json()
    for event in ("match_full", "expire", "reopen"):
        r = api.post(f"/v1/demands/{d['id']}/{event}", people["demander"], {})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "unsupported_event"), event


def test_an_explanations_misses_come_in_pages_newest_first(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    make_resource(platform, people["provider"], charger_spec())
    d = api.post("/v1/demands", people["demander"], demand_body(max_price_minor=1)).json()
    rounds = [api.post("/v1/rounds", people["operator"]).json()["round"]["id"] for _ in range(3)]
    path = f"/v1/demands/{d['id']}/explanation"
    first = api.get(path, people["demander"], limit=2).json()["unmatched"]
    rest = api.get(path, people["demander"], limit=2, offset=2).json()["unmatched"]
    assert [u["round_id"] for u in first + rest] == rounds[::-1]
    assert api.get(path, people["demander"], limit=501).status_code == 422
