"""The identity engine: how one incoming record merges into the customer list (SPEC §2.1).

Pure: it works on an in-memory :class:`Index` of the contacts a batch can touch (every contact
whose ``user_id`` or email appears in the batch, loaded by the caller under the workspace lock)
and applies the records one by one, in source order. So a batch of thousands gives exactly the
state that applying its records one at a time would give, while the caller reads and writes the
database once per batch. A record that collides with nothing (:meth:`Engine.solitary`) may be
created as a plain tuple of the contact's fields instead (:meth:`Engine.create_solitary`): the
merger's large chunks are mostly such records.

Record format (values already validated and normalised by the parser or the API): a dict whose
keys are standard fields (``user_id``, ``email``, ``name``, ``phone``, ``signed_up_at``,
``last_seen_at``, ``last_seen_ip``), ``custom`` (attribute -> value, ``None`` removes it),
``tags`` (names to add) and ``untag`` (names to remove; only the APIs that name a contact by id
send it). An absent key leaves that field alone; ``None`` clears it. Identifiers
(``user_id``, ``email``) are never cleared: ``None`` there means "the record has none".
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from shared import fields
from shared.values import email_key, fold

PROFILE_FIELDS = fields.PROFILE
# What a created contact's diff lists (its tags and custom attributes are listed apart).
CREATED_FIELDS = ("user_id", "email", *PROFILE_FIELDS)
Kind = Literal["users", "leads"]


@dataclass(slots=True)
class Contact:
    """A working copy of one contact row."""

    id: str
    role: str
    user_id: str | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    signed_up_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_seen_ip: str | None = None
    tags: list[str] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    is_new: bool = False


# A contact :meth:`Engine.create_solitary` created, as a tuple of Contact's fields in their order
# (``is_new`` left out: it is new): what a batch writes and judges of it, without a Contact.
State = tuple[Any, ...]
STATE_FIELDS = tuple(f.name for f in dataclasses.fields(Contact) if f.name != "is_new")
_AT = {name: i for i, name in enumerate(STATE_FIELDS)}
_USER_ID, _EMAIL, _TAGS = _AT["user_id"], _AT["email"], _AT["tags"]


def _repeated(values: Iterable[str | None]) -> set[str]:
    """The values but None that occur more than once."""
    return {value for value, n in Counter(values).items() if n > 1 and value is not None}


def contact_of(state: State, is_new: bool = False) -> Contact:
    """The Contact a :data:`State` is (a later batch changing it: by then it is stored)."""
    return Contact(*state, is_new)  # type: ignore[call-arg]  # (Contact's fields, in order)


class Index:
    """The contacts a batch may touch, indexed by id, user_id and email (case-insensitively).

    Invariant: for every email key that occurs in the batch, *all* contacts of the workspace
    with that email are in the index, so "how many contacts share this email" is exact.
    ``keys`` memoises email -> email key (a batch looks each email up several times).
    """

    def __init__(
        self, contacts: Iterable[Contact] = (), keys: dict[str, str] | None = None
    ) -> None:
        self.by_id: dict[str, Contact] = {}
        self.by_user_id: dict[str, Contact] = {}
        self.by_email: dict[str, dict[str, Contact]] = {}
        self.keys: dict[str, str] = keys if keys is not None else {}
        for contact in contacts:
            self.add(contact)

    def key(self, email: str) -> str:
        """``email_key(email)``, memoised."""
        key = self.keys.get(email)
        if key is None:
            key = self.keys[email] = email_key(email)
        return key

    def add(self, contact: Contact) -> None:
        self.by_id[contact.id] = contact
        if contact.user_id is not None:
            self.by_user_id[contact.user_id] = contact
        if contact.email is not None:
            self.by_email.setdefault(self.key(contact.email), {})[contact.id] = contact

    def change_email(self, contact: Contact, email: str) -> None:
        if contact.email is not None:
            self.by_email.get(self.key(contact.email), {}).pop(contact.id, None)
        contact.email = email
        self.by_email.setdefault(self.key(email), {})[contact.id] = contact

    def with_email(self, email: str) -> list[Contact]:
        return list(self.by_email.get(self.key(email), {}).values())

    def matching(self, user_ids: Iterable[str], email_keys: Iterable[str]) -> dict[str, Contact]:
        """The contacts with one of ``user_ids`` or of ``email_keys``, by id."""
        found: dict[str, Contact] = {}
        for user_id in user_ids:
            contact = self.by_user_id.get(user_id)
            if contact is not None:
                found[contact.id] = contact
        for key in email_keys:
            holders = self.by_email.get(key)
            if holders:
                found.update(holders)
        return found


def created_matching(
    created: Mapping[str, State],
    index: Index,
    user_ids: Iterable[str],
    email_keys: AbstractSet[str],
) -> list[Contact]:
    """:meth:`Index.matching` for the states a batch created (``created``; ``index`` the index
    it was applied in, which knows their emails' keys): those with one of ``user_ids`` or
    ``email_keys`` (neither holds None), as Contacts (for the next batch, which writes after
    they are stored)."""
    wanted = set(user_ids)
    key = index.key  # (memoised: the batch's memo holds the key of each of their emails)
    return [
        contact_of(state)
        for state in created.values()
        if state[_USER_ID] in wanted
        or (state[_EMAIL] is not None and key(state[_EMAIL]) in email_keys)
    ]


MatchedBy = Literal["user_id", "email", "lead_conversion"]


@dataclass(slots=True)  # not frozen: a frozen one costs 1.1 µs more to make, once per record
class Outcome:
    """What happened to one record: ``created``/``updated`` (with the contact) or ``failed``.

    ``changes`` is what an update did to the contact (the diff of SPEC §6.1): ``(old, new)``
    per field whose value changed — standard fields, ``role``, ``user_id``, ``custom.<name>`` —
    and for ``tags`` the names added; empty when the record changed nothing. A created
    contact's values are its ``record`` and ``tags`` as they were (kept by reference, not
    copied: creating is the hot path; :func:`created_values` spells them out).
    ``matched_by`` says which identity rule found the contact.
    """

    result: Literal["created", "updated", "failed"]
    contact: Contact | None = None
    errors: tuple[str, ...] = ()
    matched_by: MatchedBy | None = None
    changes: dict[str, Any] | None = None
    # An ambiguous email: the contacts the record could be (it waits in the conflict queue).
    candidates: tuple[str, ...] = ()
    record: Mapping[str, Any] | None = None  # created: the record it was created from
    tags: list[str] | None = None  # created: the tags it was created with
    # Created by Engine.create_solitary: the contact's id (``contact`` is None; its state is
    # in Engine.created).
    created_id: str | None = None

    @property
    def contact_id(self) -> str | None:
        """The id of the contact the record created or updated (None: it failed)."""
        return self.contact.id if self.contact is not None else self.created_id

    @property
    def unchanged(self) -> bool:
        """An update that changed nothing (counted among the updated, SPEC §6.1)."""
        return self.result == "updated" and not self.changes


def _taken(what: str, holder: Contact) -> Outcome:
    return Outcome(
        "failed",
        errors=(f"{what} belongs to another contact ({holder.id})",),
        candidates=(holder.id,),
    )


def _ambiguous(email: str, candidates: list[Contact]) -> Outcome:
    return Outcome(
        "failed",
        errors=(
            f"ambiguous email: {len(candidates)} contacts share {email!r}; "
            "add a user_id column to say which one this row is",
        ),
        candidates=tuple(c.id for c in candidates),
    )


class Engine:
    """Applies records to an :class:`Index`, remembering which contacts changed.

    ``new_id`` makes ids for created contacts; ``canonical_tag`` maps a tag name to the
    workspace's spelling of it (the first spelling wins, case-insensitively).
    """

    def __init__(
        self,
        index: Index,
        *,
        now: datetime,
        new_id: Callable[[], str],
        canonical_tag: Callable[[str], str] = lambda name: name,
    ) -> None:
        self.index = index
        self.now = now
        self.new_id = new_id
        self.canonical_tag = canonical_tag
        self.changed: dict[str, Contact] = {}
        # Contacts created by create_solitary (id -> state): in neither the index nor changed.
        self.created: dict[str, State] = {}
        # Earlier states of contacts changed more than once in the batch: after each of those
        # records the person may have matched a live audience, even if a later record in the
        # same batch changed that again ("after any change" means every record counts).
        self.snapshots: dict[str, list[dict[str, Any]]] = {}
        self._tags: dict[str, tuple[str, str]] = {}
        self._tag_lists: dict[tuple[tuple[str, ...], str | None], list[str]] = {}

    def apply(self, record: Mapping[str, Any], kind: Kind, tag: str | None = None) -> Outcome:
        """Merge one record by the identity rules; see the module docstring for its format."""
        email = record.get("email")
        if kind == "leads":
            return self._apply_lead(record, email, tag)
        user_id = record.get("user_id")
        if user_id is not None:
            existing = self.index.by_user_id.get(user_id)
            if existing is not None:  # rule 1
                return self._update(existing, record, tag, "user_id")
            holders = self.index.by_email.get(self.index.key(email)) if email is not None else None
            if holders:
                anonymous = [c for c in holders.values() if c.user_id is None]
                if len(anonymous) == 1:  # rule 2: a lead or an email-only user gains the user_id
                    contact = anonymous[0]
                    self._snapshot(contact)
                    changes: dict[str, Any] = {"user_id": (None, user_id)}
                    matched_by: MatchedBy = "email"
                    if contact.role == "lead":
                        changes["role"] = ("lead", "user")
                        matched_by = "lead_conversion"
                    contact.user_id = user_id
                    contact.role = "user"
                    self.index.by_user_id[user_id] = contact
                    return self._update(contact, record, tag, matched_by, changes)
            return self._create("user", record, tag)  # rule 3
        if email is None:
            return Outcome("failed", errors=("the record has neither a user_id nor an email",))
        users = [c for c in self.index.with_email(email) if c.role == "user"]  # rule 4
        if len(users) > 1:
            return _ambiguous(email, users)
        if users:
            return self._update(users[0], record, tag, "email")
        return self._create("user", record, tag)

    def solitary(
        self,
        records: Sequence[Mapping[str, Any]],
        kind: Kind,
        excluded: AbstractSet[int] = frozenset(),
    ) -> list[bool]:
        """Which of the batch's ``records`` (all of it, in order) the rules can only create a
        contact from that no other record of the batch can find: one whose ``user_id`` (for
        ``users``; a lead has none) and email key match no contact of the index and no other
        record of the batch. :meth:`apply` would make a blank contact of it (rule 3, rule 4, a
        new lead), and no record before or after it could touch that contact or be touched by
        it: every identity the rules look up is one of those keys. So such a record may be
        applied by :meth:`create_solitary` instead, the batch's result the same. Records whose
        index is in ``excluded`` (applied otherwise, or not at all) are not solitary, but their
        keys count."""
        index = self.index
        emails = [r.get("email") for r in records]
        memo = index.keys
        for email in set(emails).difference(memo):
            if email is not None:
                index.key(email)
        # (None for a record without an email)
        email_keys = list(map(cast(Callable[[Any], str | None], memo.get), emails))
        if kind == "users":
            user_ids = [r.get("user_id") for r in records]
            taken_ids = _repeated(user_ids) | (index.by_user_id.keys() & set(user_ids))
        else:
            user_ids, taken_ids = [None] * len(records), set()
        by_email = index.by_email
        taken_keys = _repeated(email_keys)
        taken_keys.update(k for k in by_email.keys() & set(email_keys) if by_email[k])
        return [
            (user_id is not None or key is not None)
            and user_id not in taken_ids
            and key not in taken_keys
            and i not in excluded
            for i, (user_id, key) in enumerate(zip(user_ids, email_keys, strict=True))
        ]

    def create_solitary(
        self, record: Mapping[str, Any], kind: Kind, tag: str | None = None
    ) -> Outcome:
        """Apply a record :meth:`solitary` found: the contact :meth:`apply` would create, kept
        as a :data:`State` in ``created`` (not indexed: nothing in the batch looks it up)."""
        state = self._created("lead" if kind == "leads" else "user", record, tag)
        self.created[state[0]] = state
        return Outcome("created", None, record=record, tags=state[_TAGS], created_id=state[0])

    def changed_ids(self) -> list[str]:
        """Every contact the batch created or changed."""
        return [*self.changed, *self.created]

    def apply_to(
        self, contact: Contact | None, record: Mapping[str, Any], kind: Kind, tag: str | None = None
    ) -> Outcome:
        """Apply a record to a contact chosen by id instead of by the identity rules: where a
        person chose for a record the rules could not place (SPEC §6.4), or the contact an API
        call names (``PUT /intercom/contacts/{id}``). ``contact`` is in the index; None makes a
        new contact (a lead for ``leads``, else a user).

        For ``users`` a lead becomes a user, and a ``user_id`` in the record is set on the
        contact (a user's is replaced) unless another user has it; for ``leads`` a ``user_id``
        is ignored, as leads have none. A new email is refused when the contact keeps no
        ``user_id`` and another contact has that email (the email is then its identity, and
        two would make it ambiguous). A refusal is a failed outcome whose ``candidates`` name
        the contact that has the identity."""
        if contact is None:
            return self._create("lead" if kind == "leads" else "user", record, tag)
        user_id = record.get("user_id") if kind == "users" else None
        if user_id is not None and user_id != contact.user_id:
            holder = self.index.by_user_id.get(user_id)
            if holder is not None and holder is not contact:
                return _taken(f"user_id {user_id!r}", holder)
        email = record.get("email")
        index = self.index
        if email is not None and (
            contact.email is None or index.key(email) != index.key(contact.email)
        ):
            keeps_user_id = user_id is not None or contact.user_id is not None
            others = [c for c in self.index.with_email(email) if c is not contact]
            if others and not keeps_user_id:
                return _taken(f"email {email!r}", others[0])
        self._snapshot(contact)
        changes: dict[str, Any] = {}
        if kind == "users" and contact.role == "lead":
            changes["role"] = ("lead", "user")
            contact.role = "user"
        if user_id is not None and user_id != contact.user_id:
            changes["user_id"] = (contact.user_id, user_id)
            if contact.user_id is not None:
                self.index.by_user_id.pop(contact.user_id, None)
            contact.user_id = user_id
            self.index.by_user_id[user_id] = contact
        return self._update(contact, record, tag, "email", changes)

    def _apply_lead(self, record: Mapping[str, Any], email: str | None, tag: str | None) -> Outcome:
        if email is None:
            return Outcome("failed", errors=("a lead needs an email address",))
        matches = self.index.with_email(email)
        if len(matches) > 1:
            return _ambiguous(email, matches)
        if matches:  # a user stays a user
            return self._update(matches[0], record, tag, "email")
        return self._create("lead", record, tag)

    def _create(self, role: str, record: Mapping[str, Any], tag: str | None) -> Outcome:
        contact = contact_of(self._created(role, record, tag), True)
        self.changed[contact.id] = contact
        self.index.add(contact)
        return Outcome("created", contact, record=record, tags=contact.tags)

    def _created(self, role: str, record: Mapping[str, Any], tag: str | None) -> State:
        """The contact a record creates, as a :data:`State`: what _merge would make of a blank
        contact, built at once (most rows of a large import create someone: the merger's
        hottest path)."""
        get = record.get
        names = get("tags")
        tags = self._tag_list(tuple(names) if names else (), tag)
        custom = get("custom")
        if not custom:
            custom = {}
        elif None in custom.values():
            custom = {k: v for k, v in custom.items() if v is not None}
        # (else the record's own dict: a contact's attributes are replaced, never changed in
        # place, so the record keeps what it was created from)
        now = self.now
        return (
            self.new_id(),
            role,
            get("user_id") if role == "user" else None,  # leads have none
            get("email"),
            get("name"),
            get("phone"),
            get("signed_up_at"),
            get("last_seen_at"),
            get("last_seen_ip"),
            tags,
            custom,
            now,
            now,
        )

    def _tag_list(self, names: tuple[str, ...], tag: str | None) -> list[str]:
        """A created contact's tags: ``names`` and ``tag`` in the workspace's spelling, each
        once (case-insensitively). Memoised per batch: a file's rows repeat their tag lists."""
        if not names and not tag:
            return []
        known = self._tag_lists.get((names, tag))
        if known is None:
            known = []
            have: set[str] = set()
            for name in (*names, tag) if tag else names:
                canonical, key = self._tag(name)
                if key not in have:
                    known.append(canonical)
                    have.add(key)
            self._tag_lists[names, tag] = known
        return list(known)

    def _snapshot(self, contact: Contact) -> None:
        """Keep the state a contact changed earlier in this batch had, before it changes again."""
        if contact.id in self.changed:
            self.snapshots.setdefault(contact.id, []).append(snapshot(contact))

    def _update(
        self,
        contact: Contact,
        record: Mapping[str, Any],
        tag: str | None,
        matched_by: MatchedBy,
        changes: dict[str, Any] | None = None,
    ) -> Outcome:
        if changes is None:  # (a lead conversion kept its snapshot already)
            self._snapshot(contact)
            changes = {}
        email = record.get("email")
        if email is not None and email != contact.email:
            changes["email"] = (contact.email, email)
            self.index.change_email(contact, email)
        self._merge(contact, record, tag, changes)
        return Outcome("updated", contact, matched_by=matched_by, changes=changes)

    def _merge(
        self, contact: Contact, record: Mapping[str, Any], tag: str | None, changes: dict[str, Any]
    ) -> None:
        """Apply the record's values, noting each value it changes in ``changes``."""
        for name in PROFILE_FIELDS:
            if name in record:
                new = record[name]
                old = getattr(contact, name)
                if old != new:
                    changes[name] = (old, new)
                    setattr(contact, name, new)
        custom = record.get("custom")
        if custom:
            merged = dict(contact.custom)
            for key, value in custom.items():
                old = merged.get(key)
                if value is None:
                    if key in merged:
                        changes["custom." + key] = (merged.pop(key), None)
                elif old != value or type(old) is not type(value):
                    changes["custom." + key] = (old, value)
                    merged[key] = value
            contact.custom = merged
        names = record.get("tags") or ()
        if tag:
            names = [*names, tag]
        if names:
            have = {fold(t) for t in contact.tags} if contact.tags else set()
            added: list[str] = []
            for name in names:
                canonical, key = self._tag(name)
                if key not in have:
                    added.append(canonical)
                    have.add(key)
            if added:
                contact.tags = [*contact.tags, *added]
                changes["tags"] = added
        untag = record.get("untag")
        if untag and contact.tags:
            gone = {fold(name) for name in untag}  # (not _tag: that would register the name)
            kept = [t for t in contact.tags if fold(t) not in gone]
            if len(kept) != len(contact.tags):
                changes["untagged"] = [t for t in contact.tags if fold(t) in gone]
                contact.tags = kept
        contact.updated_at = self.now
        self.changed[contact.id] = contact

    def _tag(self, name: str) -> tuple[str, str]:
        """The workspace's spelling of a tag name and its case-folded form (cached: the first
        spelling wins, so the answer for a name never changes within a batch)."""
        known = self._tags.get(name)
        if known is None:
            canonical = self.canonical_tag(name)
            known = self._tags[name] = (canonical, fold(canonical))
        return known


def created_values(record: Mapping[str, Any], tags: Sequence[str] | None) -> dict[str, Any]:
    """The values a contact was created with from ``record`` (an engine record, as it may come
    back through JSON): each standard field and ``custom.<name>`` that is set, and ``tags``."""
    values = {k: v for k in CREATED_FIELDS if (v := record.get(k)) is not None}
    for key, value in (record.get("custom") or {}).items():
        if value is not None:
            values["custom." + key] = value
    if tags:
        values["tags"] = list(tags)
    return values


def merge_refusal(other: Contact, into: Contact) -> str | None:
    """Why ``other`` cannot be merged into ``into`` (SPEC §6.4), or None."""
    if other.id == into.id:
        return "from and into are the same contact"
    if other.role == "user" and other.user_id is not None:
        return (
            "from is a user with a user_id: only a lead or a user without user_id can be merged"
            " into another contact"
        )
    return None


def merge_into(into: Contact, other: Contact) -> None:
    """Merge ``other`` (a lead or a user without user_id) into ``into`` (SPEC §6.4): ``into``
    keeps its values; its blanks are filled from ``other``, and it gains the tags and custom
    attributes it lacks."""
    for name in ("email", *PROFILE_FIELDS):
        if getattr(into, name) is None and getattr(other, name) is not None:
            setattr(into, name, getattr(other, name))
    missing = {k: v for k, v in other.custom.items() if k not in into.custom}
    if missing:
        into.custom = {**into.custom, **missing}
    have = {fold(t) for t in into.tags}
    extra = [t for t in other.tags if fold(t) not in have]
    if extra:
        into.tags = [*into.tags, *extra]


class ContactView(Mapping[str, Any]):
    """A contact's current state read the way the filter language reads a person (the keys of
    :func:`snapshot`, plus ``events``: its event counts), without copying it."""

    __slots__ = ("_contact", "_events")

    def __init__(self, contact: Contact, events: Mapping[str, int]) -> None:
        self._contact = contact
        self._events = events

    def get(self, key: str, default: Any = None) -> Any:
        if key in SNAPSHOT_KEYS:
            return getattr(self._contact, key)
        return self._events if key == "events" else default

    def __getitem__(self, key: str) -> Any:
        if key in SNAPSHOT_KEYS:
            return getattr(self._contact, key)
        if key == "events":
            return self._events
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter((*SNAPSHOT_KEYS, "events"))

    def __len__(self) -> int:
        return len(SNAPSHOT_KEYS) + 1


class StateView(Mapping[str, Any]):
    """A :data:`State` read the way the filter language reads a person (as
    :class:`ContactView`; a contact just created has no events)."""

    __slots__ = ("_state",)

    def __init__(self, state: State) -> None:
        self._state = state

    def get(self, key: str, default: Any = None) -> Any:
        at = _AT.get(key)
        if at is not None:
            return self._state[at]
        return _NO_EVENTS if key == "events" else default

    def __getitem__(self, key: str) -> Any:
        at = _AT.get(key)
        if at is not None:
            return self._state[at]
        if key == "events":
            return _NO_EVENTS
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter((*STATE_FIELDS, "events"))

    def __len__(self) -> int:
        return len(STATE_FIELDS) + 1


_NO_EVENTS: Mapping[str, int] = {}


def state_snapshot(state: State) -> dict[str, Any]:
    """:func:`snapshot` of a :data:`State` (its tags and attributes not copied)."""
    return dict(zip(STATE_FIELDS, state, strict=True))


def snapshot(contact: Contact, copy: bool = True) -> dict[str, Any]:
    """The filterable fields of a contact's current state, as the filter language reads them
    (``copy``: its own copy of the tags and attributes, unaffected by later changes)."""
    return {
        "id": contact.id,
        "role": contact.role,
        "user_id": contact.user_id,
        "email": contact.email,
        "name": contact.name,
        "phone": contact.phone,
        "signed_up_at": contact.signed_up_at,
        "last_seen_at": contact.last_seen_at,
        "last_seen_ip": contact.last_seen_ip,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        "tags": list(contact.tags) if copy else contact.tags,
        "custom": dict(contact.custom) if copy else contact.custom,
    }


# The keys of a snapshot (what the filter language can read of a person).
SNAPSHOT_KEYS = frozenset(snapshot(Contact(id="", role="")))
assert SNAPSHOT_KEYS == frozenset(STATE_FIELDS)
