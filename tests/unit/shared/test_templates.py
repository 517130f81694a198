"""The template grammar (shared/templates.py): what renders, what is refused and why, and that
rendering and checking read a template the same way."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import templates

ZOE = {"name": "Zoe Patel", "email": "zoe@example.com", "custom": {"Plan": "pro", "vip": True}}
NOBODY: dict[str, Any] = {"name": None, "email": None, "custom": {}}
ATTRIBUTES = ["Plan", "seats", "vip"]


@pytest.mark.parametrize(
    ("template", "person", "rendered"),
    [
        ("Hi {{name}}", ZOE, "Hi Zoe Patel"),
        ("Hi {{first_name}}!", ZOE, "Hi Zoe!"),
        ("{{email}}", ZOE, "zoe@example.com"),
        ("Plan: {{custom.plan}}", ZOE, "Plan: pro"),  # attribute names without case
        ("Plan: {{custom.Plan}}", ZOE, "Plan: pro"),
        ("{{custom.vip}}", ZOE, "true"),
        # Intercom's fallback: double or single quotes, any spacing.
        ('Hi {{name | fallback: "there"}}', NOBODY, "Hi there"),
        ("Hi {{name|fallback:'there'}}", NOBODY, "Hi there"),
        ('Hi {{  first_name   |   fallback :  "friend" }}', NOBODY, "Hi friend"),
        ('Hi {{name | fallback: "there"}}', ZOE, "Hi Zoe Patel"),
        ('{{custom.seats | fallback: "some"}} seats', ZOE, "some seats"),
        ('{{name | fallback: "a|b: c"}}', NOBODY, "a|b: c"),
        ('{{name | fallback: ""}}!', NOBODY, "!"),
        # A blank value counts as none; without a fallback it is empty.
        ('Hi {{first_name | fallback: "there"}}', {"name": "   "}, "Hi there"),
        ("Hi {{name}},", NOBODY, "Hi ,"),
        ("You have {{custom.seats}} seats", ZOE, "You have  seats"),
        # Not placeholders: text as written.
        ("{ {name} } and x }} y", ZOE, "{ {name} } and x }} y"),
        ("", ZOE, ""),
    ],
)
def test_rendering(template: str, person: dict[str, Any], rendered: str) -> None:
    assert templates.render(template, person) == rendered


def test_a_value_is_text_never_template_code() -> None:
    person = {"name": "{{email}} {% raw %}", "email": "x@y.io", "custom": {}}
    assert templates.render("Hi {{name}}", person) == "Hi {{email}} {% raw %}"


@pytest.mark.parametrize(
    "template",
    [
        "Hi {{name}}, {{first_name}}, {{email}}",
        "{{custom.plan}} {{custom.SEATS}} {{ custom.vip }}",
        "{{name | fallback: \"there\"}} {{email|fallback:'-'}}",
        "No placeholders at all { } }}",
    ],
)
def test_a_template_of_the_workspace_has_no_problems(template: str) -> None:
    assert templates.problems(template, ATTRIBUTES) == []


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        (
            "Hi {{firstname}}",
            "{{firstname}} is not a placeholder: use {{name}}, {{first_name}}, {{email}} or"
            " {{custom.<attribute>}} (did you mean {{first_name}}?)",
        ),
        ("{{Name}}", "(did you mean {{name}}?)"),
        ("{{cusotm.plan}}", "(did you mean {{custom.plan}}?)"),
        ("{{user.name}}", "{{user.name}} is not a placeholder: use {{name}}"),
        (
            "{{custom.plna}}",
            "{{custom.plna}}: the workspace has no custom attribute “plna” (did you mean"
            " {{custom.Plan}}?); it has Plan, seats, vip",
        ),
        ("Hi {{name", "“{{name” is not closed: end the placeholder with }}"),
        ("a {{name b {{email}}", "“{{name b” is not closed"),
        ("{{}}", "{{}} is empty: write a placeholder such as {{name}}"),
        ("{{custom.}}", "{{custom.}} names no attribute"),
        ("{{name | upper}}", "{{name | upper}}: only a fallback can follow “|”, write it as in"),
        ("{{name | fallback: there}}", "put the fallback text in quotes"),
        ("{{name | fallback}}", "put the fallback text in quotes"),
        ('{{ | fallback: "x"}}', "names no value before “|”"),
    ],
)
def test_a_refused_template_says_what_to_write(template: str, problem: str) -> None:
    found = templates.problems(template, ATTRIBUTES)
    assert len(found) == 1 and problem in found[0], found


def test_every_problem_is_listed_once() -> None:
    """The grammar's problems first, then the attributes the workspace lacks."""
    found = templates.problems("{{firstname}} {{custom.x}} {{firstname}} {{email", ATTRIBUTES)
    assert [f.split(" ", 1)[0] for f in found] == ["{{firstname}}", "“{{email”", "{{custom.x}}:"]


def test_a_workspace_without_attributes_says_so() -> None:
    assert templates.problems("{{custom.plan}}", []) == [
        "{{custom.plan}}: the workspace has no custom attribute “plan” (it has none yet)"
    ]


def test_a_long_attribute_list_is_cut() -> None:
    names = [f"a{i:02}" for i in range(15)]
    (problem,) = templates.problems("{{custom.zzz}}", names)
    assert problem.endswith("a08, a09 and 5 more")


def test_what_comes_out_empty_is_named_once() -> None:
    template = templates.parse(
        '{{custom.seats}} {{name}} {{custom.seats}} {{email | fallback: "-"}}'
    )
    assert template.missing({"name": "Ann", "custom": {}}) == ["{{custom.seats}}"]
    assert template.missing(NOBODY) == ["{{custom.seats}}", "{{name}}"]


def test_a_template_saved_before_the_checks_renders_its_faults_as_written() -> None:
    """Messages saved before validation may hold these: nothing is dropped silently."""
    assert templates.render("Hi {{firstname}} {{name", ZOE) == "Hi {{firstname}} {{name"


# -- one parser for rendering and checking ---------------------------------------------------

_PIECES = st.sampled_from(
    [
        "Hi ",
        "{{",
        "}}",
        "{",
        "}",
        "name",
        "first_name",
        "email",
        "custom.plan",
        "custom.nope",
        " | fallback: ",
        '"there"',
        "'x'",
        "|",
        ":",
        " ",
        "firstname",
        "\n",
    ]
)


@given(st.lists(_PIECES, max_size=12).map("".join))
def test_checking_and_rendering_read_a_template_alike(text: str) -> None:
    """What the checks accept, rendering fills in completely: no "{{" is left (the person's
    values and the fallbacks hold no braces here). What they refuse is rendered as written."""
    found = templates.problems(text, ["plan"])
    rendered = templates.render(text, {"name": "N", "email": "e", "custom": {"plan": "p"}})
    parsed = templates.parse(text)
    assert {p.message for p in parsed.problems} <= set(found)
    if not found:
        assert "{{" not in rendered
    for problem in parsed.problems:
        assert problem.source.rstrip("…") in rendered
