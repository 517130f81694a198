"""Random sequences of imports, applied for real (HTTP → parser → Kafka → merger → PostgreSQL,
several chunks each), must leave exactly the state of the reference model applied record by
record, with exact counts."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api import Api
from tests.support.reference import Reference

EMAILS = ["ann@x.io", "ANN@x.io", "bob@x.io", "cat@x.io", "dan@x.io", ""]
USER_IDS = ["", "", "u1", "u2", "u3", "u4", "null"]
NAMES = ["", "Ann", "Bob", "Zed"]

record = st.fixed_dictionaries(
    {
        "email": st.sampled_from(EMAILS),
        "user_id": st.sampled_from(USER_IDS),
        "name": st.sampled_from(NAMES),
    }
)
an_import = st.tuples(
    st.sampled_from(["users", "users", "leads"]),
    st.lists(record, min_size=1, max_size=260),
    st.sampled_from(["T1", "t1", "T2"]),
)


def _csv(kind: str, rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    fields = ["email", "name"] if kind == "leads" else ["email", "user_id", "name"]
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(imports=st.lists(an_import, min_size=1, max_size=3))
def test_imports_match_reference_model(services, imports) -> None:
    api = Api.new_workspace(services.base_url, "property")
    model = Reference()
    for kind, rows, tag in imports:
        if kind == "leads":
            rows = [{k: v for k, v in r.items() if k != "user_id"} for r in rows]
        # A row whose cells are all blank is an empty line to a user: skipped, not counted.
        rows = [r for r in rows if any(v.strip() for v in r.values())]
        if not rows:
            continue
        expected = {"created": 0, "updated": 0, "failed": 0}
        for row in rows:
            expected[model.apply(kind, row, tag)] += 1
        mapping = {"email": "email", "name": "name"}
        if kind == "users":
            mapping["user_id"] = "user_id"
        done = api.import_csv(_csv(kind, rows), kind=kind, mapping=mapping, tag=tag)
        assert done["status"] == "completed", done
        counts = {k: done["counts"][k] for k in ("rows", "created", "updated", "failed")}
        assert counts == {"rows": len(rows), **expected}
    people = api.all_users()
    actual = sorted(
        (
            p["role"],
            p["user_id"] or "",
            p["email"],
            p["name"] or "",
            tuple(sorted(t.lower() for t in p["tags"])),
        )
        for p in people
    )
    assert actual == model.state()
