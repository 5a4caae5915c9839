"""The inbox over HTTP: each caller reads and marks only its own notices, in both languages."""

from __future__ import annotations

from sparecap.bootstrap import Platform
from tests.api.conftest import Api
from tests.api.test_demands import demand_body
from tests.support.market import Party, charger_spec, make_resource


def test_a_round_hold_reaches_the_demanders_inbox(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    make_resource(platform, people["provider"], charger_spec())
    demand = api.post("/v1/demands", people["demander"], demand_body()).json()
    assert api.post("/v1/rounds", people["operator"]).status_code == 201
    inbox = api.get("/v1/notifications", people["demander"])
    assert inbox.status_code == 200, inbox.text
    (held,) = inbox.json()
    assert (held["kind"], held["subject"], held["read_at"]) == (
        "match.held", f"demand:{demand['id']}", None,
    )  # fmt: skip
    assert held["text"]["en"].startswith(
        f"A matching round held capacity for your demand {demand['id']}: booking "
    )
    assert held["text"]["zh-CN"].startswith(f"撮合已为您的需求 {demand['id']} 暂留产能")
    assert api.get("/v1/notifications", people["other"]).json() == []
    assert api.get("/v1/notifications").status_code == 401

    # Another's notice is not found; one's own is marked once, and the retry replays.
    stranger = api.post(f"/v1/notifications/{held['id']}/read", people["other"])
    assert (stranger.status_code, stranger.json()["error"]["code"]) == (
        404, "unknown_notification",
    )  # fmt: skip
    first = api.post(f"/v1/notifications/{held['id']}/read", people["demander"], key="r1")
    again = api.post(f"/v1/notifications/{held['id']}/read", people["demander"], key="r1")
    assert first.json() == again.json() == {"marked": 1}
    assert api.get("/v1/notifications", people["demander"], unread="true").json() == []
    (read,) = api.get("/v1/notifications", people["demander"]).json()
    assert read["read_at"] is not None


def test_marking_all_read_and_bad_input(
    api: Api, platform: Platform, people: dict[str, Party]
) -> None:
    make_resource(platform, people["provider"], charger_spec())
    for _ in range(3):
        api.post("/v1/demands", people["demander"], demand_body())
    api.post("/v1/rounds", people["operator"])
    ids = [n["id"] for n in api.get("/v1/notifications", people["demander"]).json()]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True)  # newest first
    up_to = api.post("/v1/notifications/read", people["demander"], {"up_to": ids[1]})
    assert up_to.json() == {"marked": 2}
    unread = api.get("/v1/notifications", people["demander"], unread="true").json()
    assert [n["id"] for n in unread] == ids[:1]
    assert api.post("/v1/notifications/read", people["demander"]).json() == {"marked": 1}
    for bad in ({"up_to": 0}, {"up_to": "all"}, {"everything": True}):
        refused = api.post("/v1/notifications/read", people["demander"], bad)
        assert refused.status_code == 422, bad
    assert api.get("/v1/notifications", people["demander"], limit=0).status_code == 422
    page = api.get("/v1/notifications", people["demander"], limit=1, offset=1).json()
    assert [n["id"] for n in page] == ids[1:2]
