"""Benchmark data: 500,000 existing people and an import file with a known expected outcome.

The import file has 8 standard columns (email, user_id, name, phone, signed_up_at, last_seen_at,
last_seen_ip, tags) and 4 custom-attribute columns (plan, seats, mrr, beta). Of its rows about
25 % update existing people (half matched by user_id, half by email alone), 1 % repeat a key
seen earlier in the file, 1 % are malformed (a bad email), and the rest are new people. About
10 % have ``plan = enterprise``: the audience of the benchmark's live message.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

SEED_PEOPLE = 500_000
HEADER = (
    "email,user_id,name,phone,signed_up_at,last_seen_at,last_seen_ip,tags,plan,seats,mrr,beta\n"
)
PLANS = ["free", "starter", "team", "business", "pro", "growth", "scale", "basic", "plus"]


@dataclass
class Expected:
    rows: int
    created: int
    updated: int
    failed: int
    enterprise_people: int  # distinct people the live message must reach
    final_people: int
    seed_people_updated: int = -1  # distinct people of the workspace the file updates


def seed_rows(n: int = SEED_PEOPLE) -> list[tuple[str, str, str]]:
    """(user_id, email, name) of the people already in the workspace."""
    return [(f"s{i}", f"s{i}@seed.example.com", f"Seed {i}") for i in range(n)]


def generate(rows: int, folder: Path, seed: int = 7) -> tuple[Path, Expected]:
    """Write the import file once per size; returns it and the outcome it must produce."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"import-{rows}.csv"
    meta = folder / f"import-{rows}.json"
    if path.exists() and meta.exists():
        known = Expected(**json.loads(meta.read_text()))
        if known.seed_people_updated >= 0:  # (files written before it was counted: again)
            return path, known
    rng = random.Random(seed)
    created = updated = failed = 0
    enterprise: set[str] = set()
    new_keys: list[str] = []
    touched_seed: set[int] = set()
    with path.open("w") as out:
        out.write(HEADER)
        for i in range(rows):
            roll = rng.random()
            if roll < 0.01:  # malformed
                email, user_id, key = f"broken-{i}-at-example.com", f"x{i}", None
                failed += 1
            elif roll < 0.02 and new_keys:  # repeats a key seen earlier in this file
                key = rng.choice(new_keys)
                user_id = key
                email = f"{key}@new.example.com"
                updated += 1
            elif roll < 0.145:  # update matched by user_id
                j = rng.randrange(SEED_PEOPLE)
                touched_seed.add(j)
                user_id, email, key = f"s{j}", f"s{j}@seed.example.com", f"s{j}"
                updated += 1
            elif roll < 0.27:  # update matched by email alone
                j = rng.randrange(SEED_PEOPLE)
                touched_seed.add(j)
                user_id, email, key = "", f"s{j}@seed.example.com", f"s{j}"
                updated += 1
            else:
                user_id = f"n{i}"
                email = f"n{i}@new.example.com"
                key = user_id
                new_keys.append(key)
                created += 1
            plan = "enterprise" if rng.random() < 0.10 else rng.choice(PLANS)
            if key is not None and plan == "enterprise":
                enterprise.add(key)  # matched after this row: gets the message once
            out.write(
                f"{email},{user_id},Person {i},+1415{rng.randrange(10**7):07d},"
                f"2015-{1 + i % 12:02d}-{1 + i % 28:02d},{1_600_000_000 + i},"
                f"10.{i % 256}.{(i // 256) % 256}.{rng.randrange(1, 255)},"
                f'"imported,batch {i % 5}",{plan},{1 + i % 50},{(i % 997) / 10:.1f},'
                f"{'true' if i % 3 == 0 else 'false'}\n"
            )
    expected = Expected(
        rows=rows,
        created=created,
        updated=updated,
        failed=failed,
        enterprise_people=len(enterprise),
        final_people=SEED_PEOPLE + created,
        seed_people_updated=len(touched_seed),
    )
    meta.write_text(json.dumps(asdict(expected)))
    return path, expected
