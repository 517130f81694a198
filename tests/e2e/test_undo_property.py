"""Random sequences of imports, API writes and undos, applied for real, against the reference
model with undo (tests/support/reference.py): after undoing import k every field is what k
found, except those changed since, which keep their later value; the counts are exact."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.test_identity_property import _csv, an_import
from tests.support.api import Api
from tests.support.reference import UndoableReference

api_write = st.tuples(
    st.just("api"),
    st.fixed_dictionaries(
        {
            "email": st.sampled_from(["ann@x.io", "bob@x.io", "cat@x.io"]),
            "user_id": st.sampled_from(["", "u1", "u2"]),
            "name": st.sampled_from(["Api", "Other"]),
        }
    ),
)
step = st.one_of(
    an_import.map(lambda i: ("import", *i)),
    api_write,
    st.tuples(st.just("undo"), st.integers(min_value=0, max_value=5)),
)


def _state(api: Api) -> list[tuple[Any, ...]]:
    return sorted(
        (
            p["role"],
            p["user_id"] or "",
            p["email"],
            p["name"] or "",
            tuple(sorted(t.lower() for t in p["tags"])),
        )
        for p in api.all_users()
    )


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(step, min_size=2, max_size=6),
    last=st.integers(min_value=0, max_value=5),
)
def test_undo_matches_the_reference_model(services: Any, steps: list[Any], last: int) -> None:
    steps = [*steps, ("undo", last)]  # every example ends with an undo
    api = Api.new_workspace(services.base_url, "undo-property")
    model = UndoableReference()
    imports: list[tuple[str, list[Any]]] = []  # (import id, journal), not undone yet
    for current in steps:
        if current[0] == "import":
            _, kind, rows, tag = current
            if kind == "leads":
                rows = [{k: v for k, v in r.items() if k != "user_id"} for r in rows]
            rows = [r for r in rows if any(v.strip() for v in r.values())]
            if not rows:
                continue
            journal: list[Any] = []
            for row in rows:
                model.apply_logged(journal, kind, row, tag)
            mapping = {"email": "email", "name": "name"}
            if kind == "users":
                mapping["user_id"] = "user_id"
            done = api.import_csv(_csv(kind, rows), kind=kind, mapping=mapping, tag=tag)
            assert done["status"] == "completed", done
            imports.append((done["id"], journal))
        elif current[0] == "api":
            record = current[1]
            expected = model.apply("users", record)
            body = {k: v for k, v in record.items() if v}
            answer = api.request("POST", "/api/users", json=body)
            assert answer.status_code == (409 if expected == "failed" else 200), answer.text
        elif imports:
            import_id, journal = imports.pop(current[1] % len(imports))
            expected = model.undo(journal)
            started = api.ok("POST", f"/api/imports/{import_id}/undo", 202)
            done = api.wait(started["id"])
            assert done["status"] == "completed", done
            counts = {k: done["counts"][k] for k in ("deleted", "reverted", "conflicts")}
            assert counts == expected, (counts, expected)
            assert done["counts"]["rows"] == sum(expected.values())
        assert _state(api) == model.state(), current
