"""Honest outcomes over the running services (issue 20, item 1): an import cancelled mid-way
stops between two chunks with exact counts that no restart changes; a dry run can be cancelled
and then started; failures grouped by cause; progress with a total that does not move back, a
time left, and why an import waits; uploads never started can be deleted and expire."""

from __future__ import annotations

import signal
import time
from typing import Any

from tests.support.api import Api
from tests.support.db import query

MAPPING = {"email": "email", "user_id": "user_id", "name": "name"}
CHUNK_ROWS = 100  # USHER_CHUNK_ROWS of the test stack


def people(n: int, *, bad_every: int = 0, prefix: str = "p") -> bytes:
    """``n`` users; with ``bad_every``, every such row has an email that is not one."""
    lines = ["email,user_id,name"]
    for i in range(1, n + 1):
        email = f"not-an-email-{i}" if bad_every and i % bad_every == 0 else f"{prefix}{i}@x.io"
        lines.append(f"{email},{prefix}{i},Person {i}")
    return ("\n".join(lines) + "\n").encode()


def applied(services: Any, import_id: str) -> tuple[int, int]:
    """``(chunks, records)`` the merger applied for the import (its exactly-once markers)."""
    row = query(
        services.dsn,
        "SELECT count(*) AS chunks, coalesce(sum(rows), 0) AS rows FROM import_chunks"
        " WHERE import_id = $1",
        import_id,
    )[0]
    return row["chunks"], row["rows"]


def contacts(services: Any, workspace_id: str) -> int:
    sql = "SELECT count(*) FROM contacts WHERE workspace_id = $1"
    return int(query(services.dsn, sql, workspace_id)[0][0])


def counted(imp: Any) -> dict[str, Any]:
    keys = ("rows", "created", "updated", "failed")
    return {**{k: imp["counts"][k] for k in keys}, "not_processed": imp["rows_not_processed"]}


def start_and_catch_running(api: Api, content: bytes, *, dry_run: bool = False) -> str:
    """Upload and start ``content``; returns once its first records are applied."""
    uploaded = api.upload(content)
    if dry_run:
        api.dry_run(uploaded["id"], mapping=MAPPING)
    else:
        api.start(uploaded["id"], mapping=MAPPING, tag="Big")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = api.status(uploaded["id"])
        if now["rows_done"] > 0:
            assert now["status"] == "processing", now
            return str(uploaded["id"])
        time.sleep(0.05)
    raise AssertionError("the import applied nothing in a minute")


def test_a_cancel_stops_between_chunks_with_exact_counts_that_restarts_keep(
    services: Any,
) -> None:
    api = Api.new_workspace(services.base_url, "cancel")
    total = 40_000
    import_id = start_and_catch_running(api, people(total, bad_every=50))

    answer = api.request("POST", f"/api/imports/{import_id}/cancel")
    assert answer.status_code == 202, answer.text
    cancelled = answer.json()
    assert cancelled["status"] == "cancelled" and cancelled["outcome"] == "cancelled"
    at_cancel = counted(cancelled)
    c = at_cancel
    # Whole chunks only, every record of them counted once, in the data as in the counts.
    chunks, records = applied(services, import_id)
    assert 0 < c["rows"] == c["created"] + c["updated"] + c["failed"] == records
    assert records == chunks * CHUNK_ROWS < total
    assert c["created"] == contacts(services, api.workspace_id)
    assert c["failed"] == records // 50 and c["updated"] == 0
    errors = query(
        services.dsn, "SELECT count(*) FROM import_errors WHERE import_id = $1", import_id
    )
    assert errors[0][0] == c["failed"]
    if cancelled["rows_total"] is not None:  # the parser had read the whole file
        assert cancelled["rows_total"] == total and c["not_processed"] == total - records
    else:
        assert c["not_processed"] is None and cancelled["rows_estimate"] >= records
    assert cancelled["finished_at"] is not None and cancelled["eta_seconds"] is None

    # Cancelling again, or anything finished, is a 409 that says why.
    again = api.request("POST", f"/api/imports/{import_id}/cancel")
    assert again.status_code == 409
    assert "cancelled already" in again.json()["error"]["message"]

    # Kill the merger (chunks of the import still on its partition) and the parser; once they
    # are back, an import of the same workspace completes: every chunk queued before it on the
    # workspace's partition has been read — and skipped.
    services.stop_service("merger", signal.SIGKILL)
    services.stop_service("parser", signal.SIGKILL)
    services.start_service("parser")
    services.start_service("merger")
    # (The chunks read before the cancel are skipped one message each: give them time.)
    after = api.import_csv(people(3, prefix="after"), mapping=MAPPING, timeout_s=300)
    assert after["status"] == "completed" and after["counts"]["created"] == 3

    final = api.status(import_id)
    assert final["status"] == "cancelled"
    assert counted(final) == at_cancel
    assert applied(services, import_id) == (chunks, records)
    assert contacts(services, api.workspace_id) == c["created"] + 3
    # What it did is in its diff and summary, and it can be undone like any import.
    assert final["summary"] is not None
    assert final["summary"]["problems"][0]["cause"] == "email.invalid"
    assert len(api.diff(import_id, result="created", limit=1000)) == c["created"]


def test_a_dry_run_can_be_cancelled_and_then_imported(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "cancel dry run")
    total = 20_000
    import_id = start_and_catch_running(api, people(total), dry_run=True)
    cancelled = api.ok("POST", f"/api/imports/{import_id}/cancel", 202)
    assert cancelled["status"] == "cancelled" and cancelled["dry_run"] is True
    assert 0 < cancelled["counts"]["rows"] < total
    assert contacts(services, api.workspace_id) == 0  # a dry run writes nothing
    tables = query(
        services.dsn,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'previews' AND tablename LIKE $1",
        f"{import_id}%",
    )
    assert tables[0][0] == 0  # its own tables went with the cancel

    # Starting it now is the real import, with the dry run's options.
    api.start(import_id)
    done = api.wait(import_id, timeout_s=180)
    assert done["status"] == "completed" and done["dry_run"] is False
    assert counted(done) == {
        "rows": total,
        "created": total,
        "updated": 0,
        "failed": 0,
        "not_processed": 0,
    }
    assert contacts(services, api.workspace_id) == total


def test_cancel_and_delete_refuse_what_they_cannot_do(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "refusals")
    done = api.import_csv(people(2), mapping=MAPPING)
    refused = api.request("POST", f"/api/imports/{done['id']}/cancel")
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "the import is completed already: only a queued or running import can be cancelled"
    )
    kept = api.request("DELETE", f"/api/imports/{done['id']}")
    assert kept.status_code == 409 and "it stays in the history" in kept.text
    uploaded = api.upload(people(2))
    not_started = api.request("POST", f"/api/imports/{uploaded['id']}/cancel")
    assert not_started.status_code == 409 and "delete the upload instead" in not_started.text
    undo = api.ok("POST", f"/api/imports/{done['id']}/undo", 202)
    no_undo_cancel = api.request("POST", f"/api/imports/{undo['id']}/cancel")
    assert no_undo_cancel.status_code == 409
    assert "an undo cannot be cancelled" in no_undo_cancel.text
    assert api.request("POST", "/api/imports/imp_nothing/cancel").status_code == 404
    assert api.request("DELETE", "/api/imports/imp_nothing").status_code == 404


REASONS = (
    "email,user_id,name,phone\n"
    "ann@x.io,u1,Ann,+442079460958\n"  # 1
    "not-an-email,u2,Bob,\n"  # 2 email
    "cy@x.io,u3,Cy,07700 900001\n"  # 3 phone without a country code
    "bob@,u4,Dee,\n"  # 4 email
    "ed@x.io,u5\n"  # 5 wrong number of cells
    "x@y,u6,Fay,020 7946 0958\n"  # 6 email and phone
    "gus@x.io,u7,Gus,\n"  # 7
    "hal@,u8,Hal,\n"  # 8 email
)


def test_failures_are_grouped_by_cause_with_example_rows(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "causes")
    done = api.import_csv(
        REASONS.encode(), mapping={"email": "email", "user_id": "user_id", "phone": "phone"}
    )
    assert done["outcome"] == "completed_with_failures"
    assert (done["counts"]["created"], done["counts"]["failed"]) == (2, 6)
    causes = api.ok("GET", f"/api/imports/{done['id']}/errors/summary")
    assert [(c["cause"], c["level"], c["rows"], c["example_rows"]) for c in causes] == [
        ("email.invalid", "error", 4, [2, 4, 6]),
        ("phone.no_country", "error", 2, [3, 6]),
        ("file.cells", "error", 1, [5]),
    ]
    email = causes[0]
    assert email["message"] == "4 emails are not valid"
    assert email["example"] == "'not-an-email' is not a valid email address: it has no '@'"
    assert email["fix"]
    # Every failed row is under at least one cause; a row with two is under both.
    report = api.ok("GET", f"/api/imports/{done['id']}/errors", params={"format": "json"})
    assert sorted(r["row"] for r in report["data"]) == [2, 3, 4, 5, 6, 8]

    fine = api.import_csv(b"email\nok@x.io\n", mapping={"email": "email"})
    assert fine["outcome"] == "completed"
    assert api.ok("GET", f"/api/imports/{fine['id']}/errors/summary") == []
    nobody = api.import_csv(b"email\nnope\nnada\n", mapping={"email": "email"})
    assert nobody["status"] == "completed" and nobody["outcome"] == "failed"


def test_progress_has_a_steady_total_a_time_left_and_says_why_an_import_waits(
    services: Any,
) -> None:
    api = Api.new_workspace(services.base_url, "progress")
    total = 30_000
    big = api.upload(people(total))
    small = api.upload(people(5, prefix="small"))
    api.start(big["id"], mapping=MAPPING)
    api.start(small["id"], mapping=MAPPING)
    waits: list[Any] = []
    seen: list[Any] = []

    def watch_small() -> None:
        now = api.status(small["id"])
        if now["waiting"] is not None:
            waits.append(now["waiting"])

    def each(state: Any) -> None:
        seen.append(state)
        if len(seen) % 3 == 0:
            watch_small()

    done = api.wait(big["id"], timeout_s=180, poll_s=0.1, seen=each)
    assert done["status"] == "completed"
    assert api.wait(small["id"])["status"] == "completed"

    fractions = [s["progress"] for s in seen]
    assert fractions == sorted(fractions), fractions
    running = [s for s in seen if s["status"] == "processing" and s["rows_done"]]
    assert running, "the import was never seen running"
    totals = [s["rows_total"] for s in running if s["rows_total"] is not None]
    assert set(totals) <= {total}  # exact once known, never another number
    for s in running:  # the exact total, once known, replaces the estimate
        assert s["rows_total"] is None or s["rows_estimate"] is None, s
    assert any(s["rows_estimate"] for s in running) or all(s["rows_total"] for s in running)
    assert any(s["eta_seconds"] is not None for s in running)
    assert done["eta_seconds"] is None and done["rows_total"] == total
    # The small import waited for the big one: a workspace's imports apply in order.
    assert waits and waits[0]["reason"] == "earlier_import", waits
    assert waits[0]["import_id"] == big["id"] and waits[0]["ahead"] == 1


def stored(services: Any, import_id: str) -> Any:
    key = query(services.dsn, "SELECT file_key FROM imports WHERE id = $1", import_id)[0][0]
    return services.storage_dir / key


def test_uploads_never_started_can_be_deleted_and_expire(services: Any) -> None:
    api = Api.new_workspace(services.base_url, "uploads")
    first = api.upload(people(2))
    assert first["status"] == "uploaded" and first["expires_at"] is not None
    path = stored(services, first["id"])
    assert path.exists()
    deleted = api.request("DELETE", f"/api/imports/{first['id']}")
    assert deleted.status_code == 204
    assert not path.exists()
    assert api.request("GET", f"/api/imports/{first['id']}").status_code == 404
    assert api.request("DELETE", f"/api/imports/{first['id']}").status_code == 404
    gone = api.request("POST", f"/api/imports/{first['id']}/start", json={"mapping": MAPPING})
    assert gone.status_code == 404

    old = api.upload(people(2))
    fresh = api.upload(people(2))
    old_path, fresh_path = stored(services, old["id"]), stored(services, fresh["id"])
    query(
        services.dsn,
        "UPDATE imports SET created_at = now() - interval '25 hours' WHERE id = $1",
        old["id"],
    )
    # The parser's timer deletes it (every 15 s), file and entry.
    state = Api.wait_for(
        lambda: api.request("GET", f"/api/imports/{old['id']}").status_code, 404, timeout_s=60
    )
    assert state == 404 and not old_path.exists()
    assert fresh_path.exists() and api.status(fresh["id"])["status"] == "uploaded"
    listed = [i["id"] for i in api.ok("GET", "/api/imports")["data"]]
    assert listed == [fresh["id"]]
