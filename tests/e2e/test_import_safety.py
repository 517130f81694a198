"""Import safety before it runs (SPEC §6.1, §6.2), over the running services: a dry run changes
nothing and promises what the real import then does; the message policy; values left out."""

from __future__ import annotations

import signal
from typing import Any

from tests.support.api import Api
from tests.support.db import query

# Every table that holds a workspace's data, and how its rows belong to the workspace.
WORKSPACE_TABLES = {
    "contacts": "workspace_id = $1",
    "tags": "workspace_id = $1",
    "attributes": "workspace_id = $1",
    "events": "workspace_id = $1",
    "deliveries": "workspace_id = $1",
    "messages": "workspace_id = $1",
    "segments": "workspace_id = $1",
    "outbox": "convert_from(key, 'UTF8') = $1",
}


def fingerprint(services: Any, workspace_id: str) -> dict[str, tuple[int, str | None]]:
    """Count and checksum of the workspace's rows in every table that holds its data."""
    out = {}
    for table, where in WORKSPACE_TABLES.items():
        row = query(
            services.dsn,
            f"SELECT count(*) AS n, md5(string_agg(t::text, '|' ORDER BY t::text)) AS sum"
            f" FROM {table} t WHERE {where}",
            workspace_id,
        )[0]
        out[table] = (row["n"], row["sum"])
    return out


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


MAPPING = {"email": "email", "user_id": "user_id", "name": "name", "phone": "phone"}


def seeded(services: Any, name: str) -> Api:
    """A workspace with three users, two users sharing an email, one lead, and a live
    message for people called 'VIP …'."""
    api = Api.new_workspace(services.base_url, name)
    done = api.import_csv(
        csv(
            "email,user_id,name,phone,plan",
            "ann@example.com,u1,Ann,+442079460958,basic",
            "bob@example.com,u2,Bob,,basic",
            "cy@example.com,u3,Cy,,gold",
            "twin@example.com,t1,Twin One,,basic",
            "twin@example.com,t2,Twin Two,,basic",
        ),
        mapping=MAPPING,
        custom_attributes={"plan": "plan"},
        tag="First",
    )
    assert done["counts"]["created"] == 5, done
    lead = api.import_csv(
        csv("email,name", "lee@example.com,Lee"),
        kind="leads",
        mapping={"email": "email", "name": "name"},
    )
    assert lead["counts"]["created"] == 1, lead
    return api


SECOND = csv(
    "email,user_id,name,phone,plan",
    "ann@example.com,u1,Ann,+442079460958,basic",  # 1 unchanged but for the tag
    "bob@example.com,u2,VIP Bob,,gold",  # 2 updated: name, plan
    "new@example.com,n1,VIP New,,gold",  # 3 created
    "lee@example.com,u9,VIP Lee,,",  # 4 the lead converted
    "twin@example.com,,Who,,",  # 5 ambiguous: two users share the email
    "new@example.com,n1,VIP New Again,,",  # 6 the person of row 3 again
    "zed@example.com,z1,Zed,020 7946 0958,",  # 7 a national phone without a country
)


def test_a_dry_run_changes_nothing_and_the_commit_does_what_it_promised(services: Any) -> None:
    api = seeded(services, "dry-run")
    vip = api.new_message(
        name="VIPs",
        type="auto",
        channel="in_app",
        subject="Hi {{name}}",
        body="Welcome",
        audience={"field": "name", "op": "starts_with", "value": "VIP"},
        state="live",
    )
    before = fingerprint(services, api.workspace_id)
    uploaded = api.upload(SECOND)
    queued = api.dry_run(
        uploaded["id"], mapping=MAPPING, custom_attributes={"plan": "plan"}, tag="Second"
    )
    assert queued["dry_run"] is True and queued["status"] == "queued"
    preview = api.wait(uploaded["id"])
    assert preview["status"] == "previewed", preview
    assert preview["counts"] == {
        "rows": 7,
        "created": 1,  # row 3
        "updated": 4,  # rows 1, 2, 4, 6
        "unchanged": 0,  # row 1 gets the new tag
        "failed": 2,  # rows 5 and 7
        "warnings": 0,
    }, preview["counts"]
    assert fingerprint(services, api.workspace_id) == before  # nothing written, nothing sent
    assert not query(
        services.dsn,
        "SELECT 1 FROM pg_tables WHERE schemaname = 'previews' AND tablename LIKE $1",
        uploaded["id"] + "%",
    ), "the dry run's own tables are dropped when it ends"

    diff = {e["row"]: e for e in api.diff(uploaded["id"])}
    assert sorted(diff) == [1, 2, 3, 4, 5, 6, 7]
    assert diff[1]["result"] == "updated" and diff[1]["matched_by"] == "user_id"
    assert diff[1]["changes"] == {"tags": {"added": ["Second"]}}
    assert diff[2]["changes"]["name"] == {"old": "Bob", "new": "VIP Bob"}
    assert diff[2]["changes"]["custom.plan"] == {"old": "basic", "new": "gold"}
    assert diff[3]["result"] == "created" and diff[3]["contact_id"] is None
    assert diff[3]["changes"]["email"] == {"old": None, "new": "new@example.com"}
    assert diff[4]["matched_by"] == "lead_conversion"
    assert diff[4]["changes"]["role"] == {"old": "lead", "new": "user"}
    assert diff[4]["changes"]["user_id"] == {"old": None, "new": "u9"}
    assert diff[5]["result"] == "failed" and "ambiguous email" in diff[5]["errors"][0]
    assert diff[6]["result"] == "updated" and diff[6]["contact_id"] is None
    assert diff[6]["changes"]["name"] == {"old": "VIP New", "new": "VIP New Again"}
    assert diff[6]["warnings"], "the same person twice in the file is said"
    assert diff[7]["result"] == "failed"  # a national phone, and no default country
    failed = api.diff(uploaded["id"], result="failed")
    assert [e["row"] for e in failed] == [5, 7]

    summary = preview["summary"]
    assert summary["fields"]["name"] == {"set": 1, "changed": 3, "cleared": 0}, summary
    # row 6 leaves plan blank: blank_values "clear" clears what row 3 set
    assert summary["fields"]["custom.plan"] == {"set": 1, "changed": 1, "cleared": 1}
    assert summary["messages"] == [
        {
            "message_id": vip["id"],
            "name": "VIPs",
            "deliveries": 3,
            "suppressed": False,
            "cancelled": 0,
        }
    ]
    causes = {p["cause"]: p for p in summary["problems"]}
    assert causes["identity.ambiguous_email"]["message"] == (
        "1 record matches more than one contact by email"
    )
    assert causes["phone.no_country"]["message"] == "1 phone number has no country code"
    assert causes["phone.no_country"]["level"] == "error"
    assert causes["file.duplicate"]["level"] == "warning"
    assert causes["file.duplicate"]["message"] == "1 person appears twice in the file"

    # Committing it: the real import, with the dry run's options, gives what it promised.
    committed = api.ok("POST", f"/api/imports/{uploaded['id']}/start", 202)
    assert committed["dry_run"] is False
    done = api.wait(uploaded["id"])
    assert done["status"] == "completed", done
    assert done["counts"] == preview["counts"]
    assert done["summary"]["fields"] == summary["fields"]
    real = {e["row"]: e for e in api.diff(uploaded["id"])}
    assert {r: e["result"] for r, e in real.items()} == {r: e["result"] for r, e in diff.items()}
    assert real[3]["contact_id"] is not None  # now the person exists
    reached = Api.wait_for(
        lambda: api.status(uploaded["id"])["summary"]["messages"][0]["deliveries"], 3
    )
    assert reached == 3
    people = {u["email"]: u for u in api.all_users()}
    assert people["bob@example.com"]["name"] == "VIP Bob"
    assert people["lee@example.com"]["role"] == "user"


def test_the_message_summary_of_a_dry_run_is_what_the_import_delivers(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "policy")
    rows = ["email,user_id,name,plan"]
    rows += [
        f"p{i}@example.com,id{i},Person {i},{'gold' if i % 3 == 0 else 'basic'}" for i in range(60)
    ]
    content = csv(*rows)
    api.import_csv(
        csv("email,plan", "seed@example.com,basic"),
        mapping={"email": "email"},
        custom_attributes={"plan": "plan"},
    )
    common = {"type": "auto", "channel": "in_app", "subject": "s", "body": "b", "state": "live"}
    gold = api.new_message(
        name="Gold", audience={"field": "custom.plan", "op": "eq", "value": "gold"}, **common
    )
    everyone = api.new_message(
        name="Everyone", audience={"field": "email", "op": "contains", "value": "@"}, **common
    )
    body = {
        "mapping": {"email": "email", "user_id": "user_id", "name": "name"},
        "custom_attributes": {"plan": "plan"},
        "suppress_messages": [everyone["id"]],
    }
    uploaded = api.upload(content)
    api.dry_run(uploaded["id"], **body)
    preview = api.wait(uploaded["id"])
    promised = {
        m["message_id"]: (m["deliveries"], m["suppressed"]) for m in preview["summary"]["messages"]
    }
    assert promised == {gold["id"]: (20, False), everyone["id"]: (0, True)}, promised

    api.start(uploaded["id"], **body)
    assert api.wait(uploaded["id"])["status"] == "completed"

    def delivered() -> dict[str, tuple[int, bool]]:
        messages = api.status(uploaded["id"])["summary"]["messages"]
        return {m["message_id"]: (m["deliveries"], m["suppressed"]) for m in messages}

    assert Api.wait_for(delivered, promised) == promised
    counts = query(
        services.dsn,
        "SELECT message_id, count(*) AS n FROM deliveries WHERE import_id = $1 GROUP BY message_id",
        uploaded["id"],
    )
    assert {r["message_id"]: r["n"] for r in counts} == {gold["id"]: 20}
    # Suppressed people stay eligible: their next change sends the message (the seed person
    # got it when it went live).
    api.ok("POST", "/api/users", 200, json={"user_id": "id1", "name": "Changed"})

    def everyone_reached() -> list[str]:
        rows = query(
            services.dsn, "SELECT contact_id FROM deliveries WHERE message_id = $1", everyone["id"]
        )
        return sorted(r["contact_id"] for r in rows)

    person = next(u for u in api.all_users() if u["user_id"] == "id1")
    seed = next(u for u in api.all_users() if u["email"] == "seed@example.com")
    expected = sorted([person["id"], seed["id"]])
    assert Api.wait_for(everyone_reached, expected) == expected


NATIONAL = csv(
    "email,name,phone,signed_up",
    "a@example.com,A,020 7946 0958,2020-01-01",
    "b@example.com,B,+442079460958,not a date",
    "c@example.com,C,,2020-02-02",
    "bad-email,D,020 7946 0958,",
)


def test_invalid_values_skip_value_imports_people_without_the_bad_values(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "skip-value")
    mapping = {"email": "email", "name": "name", "phone": "phone", "signed_up_at": "signed_up"}
    strict = api.import_csv(NATIONAL, mapping=mapping)
    assert strict["counts"]["created"] == 1 and strict["counts"]["failed"] == 3, strict

    other = Api.new_workspace(services.base_url, "skip-value-2")
    done = other.import_csv(NATIONAL, mapping=mapping, invalid_values="skip_value")
    assert done["counts"] == {
        "rows": 4,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
        "warnings": 2,
    }, done["counts"]
    people = {u["email"]: u for u in other.all_users()}
    assert people["a@example.com"]["phone"] is None
    assert people["a@example.com"]["signed_up_at"] == "2020-01-01T00:00:00Z"
    assert people["b@example.com"]["phone"] == "+442079460958"
    assert people["b@example.com"]["signed_up_at"] is None
    report = other.ok("GET", f"/api/imports/{done['id']}/errors", params={"format": "json"})
    by_row = {e["row"]: e for e in report["data"]}
    assert sorted(by_row) == [1, 2, 4]
    assert by_row[1]["errors"] == [], by_row[1]
    assert by_row[1]["warnings"][0].startswith(
        "left out: phone: '020 7946 0958' has no country calling code"
    ), by_row[1]
    assert by_row[2]["errors"] == [] and "signed_up_at" in by_row[2]["warnings"][0]
    assert by_row[4]["errors"], "an invalid email still fails the record"
    assert by_row[1]["values"]["phone"] == "020 7946 0958"
    diff = {e["row"]: e for e in other.diff(done["id"])}
    assert diff[1]["warnings"] == by_row[1]["warnings"]
    assert "phone" not in diff[1]["changes"]
    causes = {p["cause"]: p for p in done["summary"]["problems"]}
    assert causes["phone.no_country"]["level"] == "warning"
    assert causes["phone.no_country"]["message"] == "1 phone number has no country code"
    assert "default country" in causes["phone.no_country"]["fix"]
    assert causes["email.invalid"]["message"] == "1 email is not valid"


def test_the_diff_pages_through_every_chunk_in_row_order(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "diff-pages")
    rows = ["email,user_id,name"]
    rows += [f"d{i}@example.com,d{i},D {i}" for i in range(250)]  # chunks of 100 in the tests
    rows[100] = "not-an-email,x,Broken"  # row 100 fails
    rows[201] = "not-either,y,Broken"  # row 201 fails
    done = api.import_csv(csv(*rows), mapping={"email": "email", "user_id": "user_id"})
    assert done["counts"]["created"] == 248 and done["counts"]["failed"] == 2, done
    everything = api.diff(done["id"], limit=30)
    assert [e["row"] for e in everything] == list(range(1, 251))
    failed = api.diff(done["id"], result="failed", limit=1)
    assert [e["row"] for e in failed] == [100, 201]
    created = api.diff(done["id"], result="created", limit=7)
    assert len(created) == 248 and all(e["contact_id"].startswith("c_") for e in created)
    bad = api.request("GET", f"/api/imports/{done['id']}/diff", params={"result": "gone"})
    assert bad.status_code == 422


def test_a_dry_run_killed_mid_way_promises_exactly_the_same(services: Any) -> None:
    """SIGKILL the merger and the parser during a dry run: it still ends previewed with every
    record once, and the workspace untouched."""
    api = Api.new_workspace(services.base_url, "dry-run-kill")
    seed = ["email,user_id,name"] + [f"k{i}@example.com,k{i},Old {i}" for i in range(0, 6000, 3)]
    api.import_csv(csv(*seed), mapping={"email": "email", "user_id": "user_id", "name": "name"})
    before = fingerprint(services, api.workspace_id)
    rows = ["email,user_id,name"] + [f"k{i}@example.com,k{i},New {i}" for i in range(6000)]
    rows += ["k1@example.com,k1,Again"]  # the person of row 2, once more at the end
    uploaded = api.upload(csv(*rows))
    api.dry_run(uploaded["id"], mapping={"email": "email", "user_id": "user_id", "name": "name"})
    api.wait_for(lambda: api.status(uploaded["id"])["counts"]["created"] > 0, True)
    services.stop_service("merger", signal.SIGKILL)
    services.stop_service("parser", signal.SIGKILL)
    services.start_service("parser")
    services.start_service("merger")
    preview = api.wait(uploaded["id"], timeout_s=180)
    assert preview["status"] == "previewed", preview["error"]
    assert {k: preview["counts"][k] for k in ("rows", "created", "updated", "failed")} == {
        "rows": 6001,
        "created": 4000,
        "updated": 2001,
        "failed": 0,
    }
    entries = api.diff(uploaded["id"])
    assert [e["row"] for e in entries] == list(range(1, 6002))
    assert entries[-1]["result"] == "updated" and entries[-1]["contact_id"] is None
    assert entries[-1]["changes"]["name"] == {"old": "New 1", "new": "Again"}
    assert fingerprint(services, api.workspace_id) == before
