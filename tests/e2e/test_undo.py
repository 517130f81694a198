"""Undo (SPEC §6.3) over the running services: an import taken back exactly, keeping what was
changed since, counted once per contact, with its pending sends cancelled."""

from __future__ import annotations

import signal
from typing import Any

from tests.support.api import Api
from tests.support.db import query

MAPPING = {"email": "email", "user_id": "user_id", "name": "name"}


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def people(api: Api) -> dict[str, dict[str, Any]]:
    return {u["email"]: u for u in api.all_users()}


def undo(api: Api, import_id: str, timeout_s: float = 120) -> dict[str, Any]:
    started = api.ok("POST", f"/api/imports/{import_id}/undo", 202)
    assert started["source"] == "undo" and started["undo_of"] == import_id, started
    return api.wait(started["id"], timeout_s)


def test_undo_restores_what_the_import_changed_and_keeps_later_changes(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "undo")
    first = api.import_csv(
        csv(
            "email,user_id,name,plan",
            "ann@example.com,u1,Ann,basic",
            "bob@example.com,u2,Bob,basic",
            "cy@example.com,u3,Cy,basic",
        ),
        mapping=MAPPING,
        custom_attributes={"plan": "plan"},
        tag="First",
    )
    api.import_csv(
        csv("email,name", "lee@example.com,Lee"),
        kind="leads",
        mapping={"email": "email", "name": "name"},
    )
    before = people(api)
    second = api.import_csv(
        csv(
            "email,user_id,name,plan",
            "ann@example.com,u1,Ann Two,gold",  # updated
            "bob@example.com,u2,Bob Two,gold",  # updated, then changed by the API
            "new@example.com,n1,New,gold",  # created
            "kept@example.com,n2,Kept,gold",  # created, then changed by the API
            "lee@example.com,u9,Lee,",  # the lead converted
            "ann@example.com,u1,Ann Three,",  # Ann again: plan cleared
        ),
        mapping=MAPPING,
        custom_attributes={"plan": "plan"},
        tag="Second",
    )
    assert second["counts"]["created"] == 2 and second["counts"]["updated"] == 4, second
    api.ok("POST", "/api/users", 200, json={"user_id": "u2", "name": "Bob by hand"})
    api.ok("POST", "/api/users", 200, json={"user_id": "n2", "custom_attributes": {"plan": "x"}})

    done = undo(api, second["id"])
    assert done["status"] == "completed", done
    assert done["counts"]["rows"] == 5, done["counts"]  # Ann, Bob, New, Kept, Lee: once each
    assert (done["counts"]["deleted"], done["counts"]["reverted"], done["counts"]["conflicts"]) == (
        1,
        2,
        2,
    ), done["counts"]
    after = people(api)
    assert "new@example.com" not in after
    ann = after["ann@example.com"]
    assert ann["name"] == "Ann" and ann["custom_attributes"] == {"plan": "basic"}
    assert ann["tags"] == before["ann@example.com"]["tags"] == ["First"]
    bob = after["bob@example.com"]
    assert bob["name"] == "Bob by hand"  # changed since: kept
    assert bob["custom_attributes"] == {"plan": "basic"} and bob["tags"] == ["First"]
    lee = after["lee@example.com"]
    assert lee["role"] == "lead" and lee["user_id"] is None
    assert after["kept@example.com"]["custom_attributes"] == {"plan": "x"}  # kept, a conflict
    report = api.ok("GET", f"/api/imports/{done['id']}/errors", params={"format": "json"})
    sentences = [e for row in report["data"] for e in row["errors"]]
    assert any(s.startswith("name: kept 'Bob by hand'") and "'Bob Two'" in s for s in sentences)
    assert any(s.startswith("custom.plan: kept 'x'") for s in sentences), sentences
    # a second undo, an undo of the undo, a dry run: refused
    for target in (second["id"], done["id"]):
        refused = api.request("POST", f"/api/imports/{target}/undo")
        assert refused.status_code == 409, refused.text
    history = api.ok("GET", "/api/imports")["data"]
    assert history[0]["id"] == done["id"]
    assert api.status(second["id"])["undone_by"] == done["id"]
    assert first["id"] in {i["id"] for i in history}


def test_undo_cancels_the_sends_not_made_and_counts_those_made(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "undo-sends")
    common = {"type": "auto", "subject": "s", "body": "b", "state": "live"}
    inbox = api.new_message(
        name="Inbox",
        channel="in_app",
        audience={"field": "name", "op": "eq", "value": "X"},
        **common,
    )
    hook = api.new_message(
        name="Hook",
        channel="webhook",
        webhook_url="https://hooks.example.com/never",  # never answers here: stays pending/retried
        audience={"field": "name", "op": "eq", "value": "X"},
        **common,
    )
    done = api.import_csv(
        csv("email,name", *(f"s{i}@example.com,X" for i in range(5))),
        mapping={"email": "email", "name": "name"},
    )
    api.wait_for(
        lambda: query(
            services.dsn,
            "SELECT count(*) AS n FROM deliveries WHERE import_id = $1",
            done["id"],
        )[0]["n"],
        10,
    )
    undone = undo(api, done["id"])
    messages = {m["message_id"]: m for m in undone["summary"]["messages"]}
    assert messages[inbox["id"]]["deliveries"] == 5
    assert messages[hook["id"]]["deliveries"] + messages[hook["id"]]["cancelled"] == 5
    assert undone["counts"]["deleted"] == 5
    assert people(api) == {}


def test_an_undo_killed_mid_way_deletes_and_restores_exactly_once(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "undo-kill")
    seed = ["email,user_id,name"] + [f"q{i}@example.com,q{i},Old {i}" for i in range(0, 4000, 2)]
    api.import_csv(csv(*seed), mapping=MAPPING)
    rows = ["email,user_id,name"] + [f"q{i}@example.com,q{i},New {i}" for i in range(4000)]
    done = api.import_csv(csv(*rows), mapping=MAPPING)
    assert done["counts"]["created"] == 2000 and done["counts"]["updated"] == 2000
    started = api.ok("POST", f"/api/imports/{done['id']}/undo", 202)
    api.wait_for(lambda: api.status(started["id"])["counts"]["rows"] > 0, True)
    services.stop_service("merger", signal.SIGKILL)
    services.start_service("merger")
    undone = api.wait(started["id"], timeout_s=180)
    assert undone["counts"] == {
        "rows": 4000,
        "created": 0,
        "updated": 0,
        "failed": 0,
        "unchanged": 0,
        "warnings": 0,
        "deleted": 2000,
        "reverted": 2000,
        "conflicts": 0,
    }, undone["counts"]
    after = people(api)
    assert len(after) == 2000
    assert all(p["name"] == f"Old {p['user_id'][1:]}" for p in after.values())
