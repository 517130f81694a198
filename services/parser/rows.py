"""Turning one source record into a normalised identity-engine record, or into its errors.

Pure: no I/O. A :class:`RowValidator` is built once per import from its validated options and
the workspace's attribute types, then called for every record on the hot path, so the per-field
work is a precomputed list of small closures. A CSV chunk goes through :meth:`RowValidator.batch`,
the same rules column by column, and only the rows with a blank or invalid cell one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared import problems, values
from shared.errors import InvalidValue
from shared.values import columns as vector

Field = Callable[[str, dict[str, Any]], None]  # (raw cell, record) -> set record key or raise
CACHE_SIZE = 50_000  # distinct raw values remembered per column


PROBE = 5_000  # values looked at before deciding whether a column repeats enough to memoise


def cached(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Memoise a parser per column: real files repeat dates, plans, tags, countries.

    Bounded (``CACHE_SIZE`` distinct values), and switched off for a column whose first
    ``PROBE`` values were nearly all distinct (phones, emails, timestamps): there a memo only
    costs time and memory.
    """
    cache: dict[str, Any] = {}
    seen = 0
    off = False

    def memo(raw: str) -> Any:
        nonlocal seen, off
        if off:  # (one frame less than a wrapper that switches: this is per cell)
            return parse(raw)
        try:
            hit = cache[raw]
        except KeyError:
            try:
                hit = parse(raw)
            except InvalidValue as exc:
                hit = exc
            if len(cache) < CACHE_SIZE:
                cache[raw] = hit
        seen += 1
        if seen == PROBE and len(cache) > PROBE * 0.9:
            cache.clear()
            off = True
        if isinstance(hit, InvalidValue):
            raise InvalidValue(str(hit))
        return hit

    return memo


@dataclass(frozen=True)
class ImportOptions:
    """The parts of a validated ``start`` body (or remote-source request) the parser uses."""

    kind: str
    mapping: Mapping[str, str]  # standard field -> column
    custom_attributes: Mapping[str, str]  # column -> attribute name
    blank_values: str = "clear"
    # The types chosen for new attributes (name -> type); the others are inferred.
    attribute_types: Mapping[str, str] = field(default_factory=dict)
    date_order: str = "DMY"
    default_country: str | None = None
    email_required: bool = True
    # "skip_value": an invalid optional value is left out with a warning (SPEC §6.2)
    invalid_values: str = "fail_record"

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ImportOptions:
        return cls(
            kind=raw.get("kind", "users"),
            mapping=raw.get("mapping") or {},
            custom_attributes=raw.get("custom_attributes") or {},
            blank_values=raw.get("blank_values", "clear"),
            attribute_types=raw.get("attribute_types") or {},
            date_order=raw.get("date_order", "DMY"),
            default_country=raw.get("default_country"),
            email_required=raw.get("email_required", True),
            invalid_values=raw.get("invalid_values", "fail_record"),
        )


class RowValidator:
    """Validates and normalises the cells of one record, given the file's columns."""

    def __init__(
        self, columns: Sequence[str], options: ImportOptions, attribute_types: Mapping[str, str]
    ) -> None:
        self.columns = list(columns)
        self.width = len(columns)
        self.options = options
        self.skip_values = options.invalid_values == "skip_value"
        position = {name: i for i, name in enumerate(columns)}
        self.email_at = (
            position.get(options.mapping["email"]) if "email" in options.mapping else None
        )
        self.user_id_at = position.get(options.mapping.get("user_id", "\0"))
        self.fields: list[tuple[int, str, Field]] = []
        # The same rules column by column, in the record's key order (see :meth:`batch`).
        self._columns: list[tuple[int, str, Column]] = []
        if self.email_at is not None:
            email = _column(values.parse_email, check=vector.emails)
            self._columns.append((self.email_at, "email", email))
        if self.user_id_at is not None:
            user_id = _column(  # a blank cell: the record has no user_id
                values.parse_identifier, blank=None, check=vector.identifiers
            )
            self._columns.append((self.user_id_at, "user_id", user_id))
        clear = options.blank_values == "clear"
        last_name_at = position.get(options.mapping.get("name_last", "\0"))

        def plain(key: str, parse: Callable[[str], Any], check: vector.Check) -> Field:
            column = _column(parse, check=check)
            self._columns.append((position[options.mapping[key]], key, column))
            parse = cached(parse)

            def set_field(raw: str, record: dict[str, Any]) -> None:
                raw = raw.strip()
                if raw:
                    record[key] = parse(raw)
                elif clear:
                    record[key] = None

            return set_field

        date_order = options.date_order
        country = options.default_country

        def parse_date(raw: str) -> str:
            return values.iso_datetime(raw, date_order)

        # Each field's rule, and the same over a whole column at once (for the batch).
        parsers: dict[str, tuple[Callable[[str], Any], vector.Check]] = {
            "name": (values.normalize_name, vector.labels),
            "phone": (lambda raw: values.parse_phone(raw, country), vector.phones),
            "signed_up_at": (parse_date, vector.unix_seconds),
            "last_seen_at": (parse_date, vector.unix_seconds),
            "last_seen_ip": (values.parse_ip, vector.ipv4),
        }
        for key, (parse, check) in parsers.items():
            column = options.mapping.get(key)
            if column is not None and column in position:
                self.fields.append((position[column], key, plain(key, parse, check)))
        if last_name_at is not None and "name" in options.mapping:
            self.last_name_at: int | None = last_name_at
        else:
            self.last_name_at = None
        tags_column = options.mapping.get("tags")
        if tags_column is not None and tags_column in position:
            self._columns.append((position[tags_column], "tags", _column(_tag_names, strip=False)))
            split = cached(values.split_tags)

            def set_tags(raw: str, record: dict[str, Any]) -> None:
                names = split(raw)
                if names:
                    record["tags"] = names

            self.fields.append((position[tags_column], "tags", set_tags))
        self.custom: list[tuple[int, str, Callable[[str], Any]]] = []
        self._custom_columns: list[tuple[int, str, Column]] = []
        for column, attribute in options.custom_attributes.items():
            if column in position:
                type_ = attribute_types[attribute]

                def convert(raw: str, attribute: str = attribute, type_: str = type_) -> Any:
                    return values.coerce(raw, type_, attribute, date_order)

                self.custom.append((position[column], attribute, cached(convert)))
                self._custom_columns.append((position[column], attribute, _column(convert)))

    def __call__(self, cells: Sequence[str]) -> tuple[dict[str, Any] | None, list[str]]:
        """Returns ``(record, [])`` or ``(None, every error of the row)``."""
        errors: list[str] = []
        warnings: list[str] = []
        record: dict[str, Any] = {}
        if self.email_at is not None:
            raw = cells[self.email_at].strip()
            if raw:
                try:
                    record["email"] = values.parse_email(raw)
                except InvalidValue as exc:
                    errors.append(str(exc))
            elif self.options.email_required:
                errors.append("email is missing: every row needs an email address")
        if self.user_id_at is not None:
            try:
                user_id = values.parse_identifier(cells[self.user_id_at], "user_id")
            except InvalidValue as exc:
                errors.append(str(exc))
            else:
                if user_id is not None:
                    record["user_id"] = user_id
        # Optional values that are invalid fail the record, or are left out with a warning.
        optional = warnings if self.skip_values else errors
        for at, key, set_field in self.fields:
            try:
                set_field(cells[at], record)
            except InvalidValue as exc:
                optional.append(f"{key}: {exc}")
        if self.last_name_at is not None:
            last = cells[self.last_name_at].strip()
            if last:
                record["name"] = f"{record.get('name') or ''} {last}".strip()
        if self.custom:
            custom: dict[str, Any] = {}
            clear = self.options.blank_values == "clear"
            for at, attribute, convert in self.custom:
                raw = cells[at].strip()
                if not raw:
                    if clear:
                        custom[attribute] = None
                    continue
                try:
                    custom[attribute] = convert(raw)
                except InvalidValue as exc:
                    optional.append(str(exc))
            if custom:
                record["custom"] = custom
        if not self.options.email_required and "email" not in record and "user_id" not in record:
            if not errors:
                errors.append("the record has neither an email nor a user_id")
        if errors:
            return None, errors
        if warnings:
            record["_warnings"] = [problems.left_out(w) for w in warnings]
        return record, errors

    def batch(
        self, rows: Sequence[Sequence[str]], one: Callable[[int, Sequence[str]], Result]
    ) -> list[Result]:
        """What :meth:`__call__` gives for each of ``rows``, worked out column by column: each
        column's cells go through its rule in one loop (a column that repeats its values, once
        per distinct value), and a record is put together from its row's values — unless one of
        them is a cell the rule leaves to the row (blank, invalid), when ``one(i, cells)`` gives
        row ``i``'s result (:meth:`__call__`, with the caller's handling of a failure). Equal to
        calling it on every row, key order included (tests/unit/parser/test_rows.py)."""
        width = self.width
        if (
            not self._columns
            or self.last_name_at is not None
            or any(len(cells) != width for cells in rows)
        ):
            return [one(i, cells) for i, cells in enumerate(rows)]
        if not rows:
            return []
        columns = list(zip(*rows, strict=True))
        keys = [key for _, key, _ in self._columns]
        found = [column(columns[at]) for at, _, column in self._columns]
        names = [name for _, name, _ in self._custom_columns]
        custom = [column(columns[at]) for at, _, column in self._custom_columns]
        records = [dict(zip(keys, got, strict=True)) for got in zip(*found, strict=True)]
        if self.user_id_at is not None:
            ids = found[keys.index("user_id")]
            if None in ids:
                for record, user_id in zip(records, ids, strict=True):
                    if user_id is None:
                        del record["user_id"]  # a blank user_id: the record has none
        if custom:
            for record, attributes in zip(records, zip(*custom, strict=True), strict=True):
                record["custom"] = dict(zip(names, attributes, strict=True))
        out: list[Result] = [(record, []) for record in records]
        slow: set[int] = set()
        for found_values in (*found, *custom):
            if _SLOW in found_values:
                slow.update(i for i, value in enumerate(found_values) if value is _SLOW)
        for i in sorted(slow):
            out[i] = one(i, rows[i])
        return out


Result = tuple[dict[str, Any] | None, list[str]]
Column = Callable[[Sequence[str]], list[Any]]  # a column's cells -> their values, or _SLOW
_SLOW: Any = object()  # a cell whose row goes through RowValidator.__call__


def _column(
    parse: Callable[[str], Any],
    *,
    strip: bool = True,
    blank: Any = _SLOW,
    check: vector.Check | None = None,
) -> Column:
    """A column's cells through ``parse`` as :meth:`RowValidator.__call__` puts them through it
    (trimmed unless ``strip`` is False); ``blank`` for a blank cell, and :data:`_SLOW` for a
    value ``parse`` refuses (or raises on): the row path says what becomes of those. A column
    whose cells repeat (at least every other one a repeat) parses each distinct cell once; one
    that does not goes through ``check`` first (shared.values.columns), and ``parse`` takes only
    the cells the check leaves."""

    def one(cell: str) -> Any:
        raw = cell.strip() if strip else cell
        if not raw:
            return blank
        try:
            return parse(raw)
        except Exception:  # the row path reports it (or fails the row as unreadable)
            return _SLOW

    def run(cells: Sequence[str]) -> list[Any]:
        distinct = set(cells)
        if len(distinct) * 2 <= len(cells):
            memo = {cell: one(cell) for cell in distinct}
            return [memo[cell] for cell in cells]
        if check is None:
            return [one(cell) for cell in cells]
        out, left = check(cells)
        for i in left:
            out[i] = one(cells[i])
        return out

    return run


def _tag_names(cell: str) -> list[str]:
    """The names in a tags cell; :data:`_SLOW` when there are none (the row sets no tags)."""
    names: list[str] = values.split_tags(cell)
    return names if names else _SLOW
