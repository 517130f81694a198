"""The identity-rule property test of CSV imports (test_identity_property.py), fed through the
Segment endpoint by Segment's own library: random identifies, in batches, must end in exactly
the state of the reference model applied message by message, with exact counts (SPEC §7)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segment.analytics import Client

from tests.e2e.test_identity_property import EMAILS, NAMES, USER_IDS
from tests.support.api import Api
from tests.support.reference import Reference

message = st.fixed_dictionaries(
    {
        "email": st.sampled_from(EMAILS),
        "user_id": st.sampled_from(USER_IDS),
        "name": st.sampled_from(NAMES),
    }
)


def _counts(api: Api) -> dict[str, int]:
    entries = [i for i in api.pages("/api/imports") if i["source"] == "segment"]
    if not entries:
        return {"created": 0, "updated": 0, "failed": 0}
    return {k: entries[0]["counts"][k] for k in ("created", "updated", "failed")}


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=st.lists(st.lists(message, min_size=1, max_size=220), min_size=1, max_size=3))
def test_segment_identifies_match_reference_model(services, batches) -> None:
    api = Api.new_workspace(services.base_url, "segment-property")
    failures: list[object] = []
    client = Client(
        api.token,
        host=f"{services.base_url}/segment",
        max_retries=3,
        on_error=lambda exc, batch: failures.append(exc),
    )
    model = Reference()
    for rows in batches:
        before = _counts(api)
        expected = dict(before)
        for row in rows:
            traits = {"name": row["name"]}  # "" clears the name, as a blank CSV cell does
            if row["email"]:
                traits["email"] = row["email"]
            if row["user_id"]:  # a user, named by user_id (and email, when there is one)
                client.identify(row["user_id"], traits)
                outcome = model.apply("users", row, email_required=False)
            else:  # anonymous: a lead, if it has an email
                client.identify(anonymous_id="visitor", traits=traits)
                outcome = model.apply("leads", row)
            expected[outcome] += 1
        client.flush()
        assert failures == []
        assert _counts(api) == expected
    actual = sorted(
        (
            p["role"],
            p["user_id"] or "",
            p["email"] or "",
            p["name"] or "",
            tuple(sorted(t.lower() for t in p["tags"])),
        )
        for p in api.all_users()
    )
    assert actual == model.state()
