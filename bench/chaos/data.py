"""Chaos input and its expected outcome.

Two CSV files (``email,user_id,name,tier``): a seed import that exists before the live message
(about a fifth of its people known by email only), and the import run under faults. The import's
identity mix, per record: ~1.5 % malformed (no ``@`` in the email, a blank email, a placeholder
user_id, a wrong number of cells); new users with a user_id; new users known by email only;
updates by user_id (a fifth of them changing the email); updates by email alone (some in another
letter case or with spaces around it, ambiguous once two users share the email); conversions (a
new user_id on the email of an email-only user, rule 2) and new users sharing an existing user's
email (rule 3). Updates pick people from the seed or anywhere earlier in the file, half of the
time among the most recent ones, so a person is often changed again in a later chunk.

Each record sets ``tier`` to ``gold`` (the live message's audience), ``basic`` or blank (cleared)
at random, so a person can match after one record and no longer after a later one. SPEC §5 says
they get the message anyway ("after any change"): the expected audience is everyone who had
``tier = gold`` after any record of the import, plus the seed people with it when the message
went live.

Three live auto messages, one per channel (:data:`AUDIENCES`): in-app to everyone gold; webhook
and email to the gold people whose name ends in one of a few three-digit suffixes (record ``i``
names its person ``Person i``, seed ``i`` is ``Seed i``; the suffixes are even, so each matches a
seed person who is gold): about 1 % of the in-app audience each, since every webhook and email is
a slow round trip to the harness's receivers. Each channel's audience is computed the same way,
on every state after every record.

The outcome comes from :class:`Model`, the identity rules of ``tests/support/reference.py`` applied record
by record, with indexes so that 200,000 records take a second (the reference scans a list).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = ("email", "user_id", "name", "tier")
MAPPING = {"email": "email", "user_id": "user_id", "name": "name"}
CUSTOM = {"tier": "tier"}
SEED_TAG = "chaos-seed"
TAG = "chaos"
GOLD = "gold"
AUDIENCE = {"field": "custom.tier", "op": "eq", "value": GOLD}
CHANNELS = ("in_app", "webhook", "email")
# Name suffixes (even numbers: "Seed <n>" is gold for even n) of the webhook and email audiences.
SUFFIXES = {"in_app": (), "webhook": ("250", "686"), "email": ("432", "918")}


def _audience(channel: str) -> dict[str, Any]:
    if not SUFFIXES[channel]:
        return AUDIENCE
    names = [{"field": "name", "op": "ends_with", "value": s} for s in SUFFIXES[channel]]
    return {"and": [AUDIENCE, {"or": names}]}


AUDIENCES: dict[str, dict[str, Any]] = {channel: _audience(channel) for channel in CHANNELS}
PLACEHOLDERS = {"0", "-1", "null", "none", "undefined", "anonymous", "guest", "nan"}
RECENT = 3000  # "recent" people: about the last few chunks

Key = tuple[str, str]
State = tuple[Any, ...]


@dataclass(eq=False)
class Person:
    role: str
    user_id: str | None
    email: str
    name: str | None = None
    tier: str | None = None
    tags: set[str] = field(default_factory=set)
    matched: bool = False  # had tier = gold after some record (while the message was live)
    matched_by: set[str] = field(default_factory=set)  # channels whose audience it matched

    def matches(self, channel: str) -> bool:
        """Whether the person, as now, is in the audience of the ``channel`` message (the
        filter language compares text case-insensitively; digits have no case)."""
        if self.tier != GOLD:
            return False
        suffixes = SUFFIXES[channel]
        return not suffixes or (self.name is not None and self.name.lower().endswith(suffixes))

    def judge(self) -> None:
        """After a record (or when the messages go live): note the audiences it is in now."""
        for channel in CHANNELS:
            if self.matches(channel):
                self.matched_by.add(channel)
        self.matched = "in_app" in self.matched_by

    def key(self) -> Key:
        """Unique among the people of one workspace here: user_id, else the email (an email-only
        user keeps its email, up to case, until it gains a user_id)."""
        if self.user_id is not None:
            return ("user_id", self.user_id)
        return ("email", self.email.lower())

    def state(self) -> State:
        return (self.role, self.user_id, self.email, self.name, self.tier, tuple(sorted(self.tags)))


class Model:
    """SPEC §2.1 for ``users`` imports, one record at a time, with indexes."""

    def __init__(self) -> None:
        self.people: list[Person] = []
        self.email_only: list[Person] = []
        self.by_user_id: dict[str, Person] = {}
        self.by_email: dict[str, list[Person]] = {}

    @staticmethod
    def validate(cells: Sequence[str]) -> dict[str, Any] | None:
        """The record as the parser normalises it, or None when the parser rejects the row.

        Only what this generator produces is recognised: a bad email here has no ``@``.
        """
        if len(cells) != len(HEADER):
            return None
        email, user_id, name, tier = (c.strip() for c in cells)
        if not email or "@" not in email or user_id.lower() in PLACEHOLDERS:
            return None
        return {"email": email, "user_id": user_id or None, "name": name or None, "tier": tier}

    def apply(self, cells: Sequence[str], tag: str) -> str:
        """``created``, ``updated`` or ``failed``, exactly as Usher must count the record."""
        record = self.validate(cells)
        if record is None:
            return "failed"
        email, user_id = record["email"], record["user_id"]
        same_email = self.by_email.get(email.lower(), [])
        if user_id is not None:
            person = self.by_user_id.get(user_id)
            if person is not None:  # rule 1
                return self._update(person, record, tag, "updated")
            anonymous = [p for p in same_email if p.user_id is None]
            if len(anonymous) == 1:  # rule 2
                person = anonymous[0]
                person.user_id = user_id
                person.role = "user"
                self.by_user_id[user_id] = person
                return self._update(person, record, tag, "updated")
            return self._create(user_id, record, tag)  # rule 3
        users = [p for p in same_email if p.role == "user"]  # rule 4
        if len(users) > 1:
            return "failed"  # ambiguous email
        if users:
            return self._update(users[0], record, tag, "updated")
        return self._create(None, record, tag)

    def _create(self, user_id: str | None, record: dict[str, Any], tag: str) -> str:
        person = Person("user", user_id, record["email"])
        self.people.append(person)
        self.by_email.setdefault(person.email.lower(), []).append(person)
        if user_id is not None:
            self.by_user_id[user_id] = person
        else:
            self.email_only.append(person)
        return self._update(person, record, tag, "created")

    def _update(self, person: Person, record: dict[str, Any], tag: str, outcome: str) -> str:
        email = record["email"]
        if email != person.email:
            self.by_email[person.email.lower()].remove(person)
            self.by_email.setdefault(email.lower(), []).append(person)
            person.email = email
        person.name = record["name"]
        person.tier = record["tier"] or None
        person.tags.add(tag.lower())
        person.judge()
        return outcome


@dataclass
class Expected:
    rows: int
    created: int
    updated: int
    failed: int
    seed_rows: int
    seed_audience: int  # deliveries when the message goes live, before the import
    people: dict[Key, State]  # the final state of everyone in the workspace
    audience: set[Key]  # who must have exactly one delivery at the end
    # The same per channel (CHANNELS; "in_app" is the two above).
    seed_audiences: dict[str, int] = field(default_factory=dict)
    audiences: dict[str, set[Key]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
        }


def seed_records(n: int) -> list[list[str]]:
    """People in the workspace before the message goes live; half of them have tier gold."""
    out = []
    for i in range(n):
        tier = GOLD if i % 2 == 0 else "basic"
        if i % 5 == 4:
            out.append([f"e{i}@seed.chaos.test", "", f"Seed {i}", tier])
        else:
            out.append([f"s{i}@seed.chaos.test", f"s{i}", f"Seed {i}", tier])
    return out


class Picker:
    """Chooses the people an update refers to, from the model's current state."""

    def __init__(self, model: Model, rng: random.Random) -> None:
        self.model = model
        self.rng = rng

    def anyone(self) -> Person:
        people = self.model.people
        if self.rng.random() < 0.5:
            return people[self.rng.randrange(max(0, len(people) - RECENT), len(people))]
        return people[self.rng.randrange(len(people))]

    def with_user_id(self) -> Person | None:
        for _ in range(10):
            person = self.anyone()
            if person.user_id is not None:
                return person
        return None

    def email_only(self) -> Person:
        people = self.model.email_only
        if self.rng.random() < 0.5:
            return people[self.rng.randrange(max(0, len(people) - RECENT // 5), len(people))]
        return people[self.rng.randrange(len(people))]


def import_record(i: int, rng: random.Random, pick: Picker) -> list[str]:
    """Record ``i`` (1-based) of the import file."""
    name = "" if rng.random() < 0.02 else f"Person {i}"
    roll = rng.random()
    tier = GOLD if roll < 0.49 else "basic" if roll < 0.98 else ""
    roll = rng.random()
    if roll < 0.015:
        return [
            [f"broken-{i}.chaos.test", f"b{i}", name, tier],
            ["", f"b{i}", name or "Nameless", tier],
            [f"p{i}@chaos.test", rng.choice(["null", "Guest", "0", " anonymous "]), name, tier],
            [f"x{i}@chaos.test", f"x{i}", name, tier, "one cell too many"],
        ][i % 4]
    if roll < 0.47:
        return [f"n{i}@chaos.test", f"n{i}", name, tier]
    if roll < 0.55:
        return [f"m{i}@chaos.test", "", name, tier]
    if roll < 0.72:
        person = pick.with_user_id()
        if person is None or person.user_id is None:
            return [f"n{i}@chaos.test", f"n{i}", name, tier]
        email = f"c{i}@chaos.test" if rng.random() < 0.2 else person.email
        return [email, person.user_id, name, tier]
    if roll < 0.84:
        email = pick.anyone().email
        variant = rng.random()
        if variant < 0.2:
            email = email.upper()
        elif variant < 0.25:
            email = f"  {email} "
        return [email, "", name, tier]
    if roll < 0.87:
        return [pick.email_only().email, f"v{i}", name, tier]
    if roll < 0.89:
        person = pick.with_user_id()
        email = person.email if person is not None else f"w{i}@chaos.test"
        return [email, f"w{i}", name, tier]
    return [f"n{i}@chaos.test", f"n{i}", name, tier]


def _write(path: Path, records: list[list[str]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(records)


def generate(rows: int, folder: Path, seed: int = 1) -> tuple[Path, Path, Expected]:
    """Write ``seed.csv`` and ``import.csv`` into ``folder``; return them and the outcome."""
    rng = random.Random(seed)
    model = Model()
    seeds = seed_records(max(200, rows // 20))
    for cells in seeds:
        assert model.apply(cells, SEED_TAG) == "created"
    for person in model.people:  # the messages go live after the seed import
        person.matched_by.clear()
        person.judge()
    seed_audience = sum(p.matched for p in model.people)
    seed_audiences = {c: sum(c in p.matched_by for p in model.people) for c in CHANNELS}
    pick = Picker(model, rng)
    records: list[list[str]] = []
    outcomes = {"created": 0, "updated": 0, "failed": 0}
    for i in range(1, rows + 1):
        cells = import_record(i, rng, pick)
        records.append(cells)
        outcomes[model.apply(cells, TAG)] += 1
    folder.mkdir(parents=True, exist_ok=True)
    seed_path, import_path = folder / "seed.csv", folder / "import.csv"
    _write(seed_path, seeds)
    _write(import_path, records)
    people: dict[Key, State] = {}
    for person in model.people:
        assert person.key() not in people, person
        people[person.key()] = person.state()
    return (
        seed_path,
        import_path,
        Expected(
            rows=rows,
            created=outcomes["created"],
            updated=outcomes["updated"],
            failed=outcomes["failed"],
            seed_rows=len(seeds),
            seed_audience=seed_audience,
            people=people,
            audience={p.key() for p in model.people if p.matched},
            seed_audiences=seed_audiences,
            audiences={c: {p.key() for p in model.people if c in p.matched_by} for c in CHANNELS},
        ),
    )
