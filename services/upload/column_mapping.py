"""Which column of an upload most likely holds each standard field (the upload's
``suggested_mapping``). Only the upload service suggests mappings."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Final

from services.upload.rules import MIN_SAMPLE
from shared import fields, values
from shared.errors import InvalidValue


def _norm(header: str) -> str:
    """Lower-case, accents removed, only letters and digits ('E-Mail-Adresse' -> 'emailadresse')."""
    folded = unicodedata.normalize("NFKD", header.casefold())
    return "".join(ch for ch in folded if ch.isalnum() and not unicodedata.combining(ch))


# Normalised header names per field, best first. All of them are "exact" matches.
_EXACT: Final[dict[str, tuple[str, ...]]] = {
    "email": (
        "email",
        "emailaddress",
        "emailadresse",
        "emailadress",
        "emailadres",
        "mailaddress",
        "mail",
        "primaryemail",
        "emailid",
        "courriel",
        "adresseemail",
        "adressemail",
        "adresseelectronique",
        "adressecourriel",
        "correo",
        "correoelectronico",
        "direcciondecorreo",
        "direcciondecorreoelectronico",
        "direccionemail",
        "indirizzoemail",
        "enderecodeemail",
        "enderecoemail",
        "epost",
        "epostadresse",
        "epostadress",
    ),
    "user_id": (
        "userid",
        "externaluserid",
        "customerid",
        "externalid",
        "uid",
        "id",
        "clientid",
        "accountid",
        "memberid",
        "contactid",
        "personid",
        "customernumber",
        "customerno",
        "distinctid",
        "kundennummer",
        "kundennr",
        "kundenid",
        "benutzerid",
        "nutzerid",
        "idclient",
        "identifiant",
        "numeroclient",
        "idcliente",
        "numerodecliente",
        "numerocliente",
        "iddecliente",
        "iddeusuario",
        "identifiantclient",
        "idusuario",
        "usuarioid",
        "idutilisateur",
    ),
    "name": (
        "name",
        "fullname",
        "displayname",
        "contactname",
        "customername",
        "nom",
        "nomcomplet",
        "nombre",
        "nombrecompleto",
        "nome",
        "nomecompleto",
        "naam",
        "vollstandigername",
    ),
    "signed_up_at": (
        "signedupat",
        "signedup",
        "signupdate",
        "signupat",
        "signedupdate",
        "signup",
        "signupdatetime",
        "signuptime",
        "registeredat",
        "registered",
        "registrationdate",
        "registerdate",
        "registeredon",
        "joined",
        "joinedat",
        "joindate",
        "datejoined",
        "membersince",
        "createdat",
        "created",
        "createddate",
        "createdon",
        "createdutc",
        "createdate",
        "creationdate",
        "datecreated",
        "dateadded",
        "addedon",
        "anmeldedatum",
        "registrierungsdatum",
        "registriertam",
        "erstelltam",
        "dateinscription",
        "datedinscription",
        "inscription",
        "inscritle",
        "fechaderegistro",
        "fecharegistro",
        "fechadealta",
        "fechaalta",
        "fechacreacion",
        "fechadecreacion",
        "optintime",
    ),
    "phone": (
        "phone",
        "phonenumber",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "mobilephonenumber",
        "telephone",
        "telephonenumber",
        "tel",
        "cell",
        "cellphone",
        "phoneno",
        "contactnumber",
        "msisdn",
        "telefon",
        "telefonnummer",
        "handy",
        "handynummer",
        "mobil",
        "mobilnummer",
        "mobiltelefon",
        "numerodetelephone",
        "portable",
        "telephoneportable",
        "telefono",
        "numerodetelefono",
        "movil",
        "telefonomovil",
        "celular",
    ),
    "last_seen_at": (
        "lastseenat",
        "lastseen",
        "lastseendate",
        "lastseenon",
        "lastactive",
        "lastactiveat",
        "lastactivity",
        "lastactivitydate",
        "lastlogin",
        "lastloginat",
        "lastlogindate",
        "lastsignin",
        "lastsignedin",
        "lastsigninat",
        "lastvisit",
        "lastvisitat",
        "lastvisited",
        "letzteanmeldung",
        "letzterlogin",
        "zuletztgesehen",
        "zuletztaktiv",
        "derniereconnexion",
        "dernierevisite",
        "dernieraccess",
        "ultimoacceso",
        "ultimaconexion",
        "ultimavisita",
    ),
    "last_seen_ip": (
        "lastseenip",
        "ip",
        "ipaddress",
        "lastip",
        "lastipaddress",
        "lastloginip",
        "ipadresse",
        "ipadres",
        "adresseip",
        "direccionip",
        "ipaddr",
        "ipv4",
        "clientip",
        "remoteip",
        "signupip",
        "optinip",
        "confirmip",
    ),
    "tags": (
        "tags",
        "tag",
        "labels",
        "label",
        "etiquetas",
        "etiquettes",
        "etiqueta",
        "etiquette",
        "schlagworte",
        "schlagworter",
        "stichworte",
        "categories",  # Outlook's
    ),
}
_EXACT_RANK: Final[dict[str, dict[str, int]]] = {
    field: {name: rank for rank, name in enumerate(names)} for field, names in _EXACT.items()
}

# Weaker matches: the normalised header contains one of the words and none of the exclusions.
_PARTIAL: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "email": (
        ("email", "correo", "courriel"),
        (
            "verif",
            "optin",
            "optout",
            "consent",
            "status",
            "subscri",
            "bounce",
            "valid",
            "domain",
            "type",
            "format",
            "permission",
            "marketing",
            "unsub",
            "sent",
            "open",
            "click",
            "count",
            "confirm",
            "date",
            "time",
            "label",
            "display",
        ),
    ),
    "user_id": (("userid", "customerid", "externalid", "kundennummer", "kundenid"), ()),
    "name": (("fullname", "nomcomplet", "nombrecompleto", "vollstandigername"), ()),
    "signed_up_at": (
        ("signup", "signedup", "registration", "registered", "created", "joined"),
        (
            "ip",
            "source",
            "method",
            "channel",
            "url",
            "page",
            "form",
            "campaign",
            "country",
            "by",
            "card",
            "order",
            "invoice",
            "deal",
            "ticket",
            "company",
        ),
    ),
    "phone": (
        ("phone", "mobile", "telefon", "handy", "celular", "movil"),
        (
            "type",
            "label",
            "phonetic",
            "verif",
            "optin",
            "consent",
            "country",
            "code",
            "prefix",
            "ext",
            "valid",
        ),
    ),
    "last_seen_at": (("lastseen", "lastactiv", "lastlogin", "lastvisit"), ("ip",)),
    "last_seen_ip": (("ipaddr", "ipadress", "adresseip", "lastip", "seenip", "loginip"), ()),
    "tags": ((), ()),
}
# Single-column names that mean the surname when a first-name column sits next to them.
_SURNAME_LIKE: Final = frozenset({"name", "nom", "nombre", "nome", "naam"})
_FIRST_NAME: Final = frozenset(
    {"firstname", "fname", "givenname", "forename", "vorname", "prenom", "primernombre", "voornaam"}
)
_LAST_NAME: Final = frozenset(
    {
        "lastname",
        "lname",
        "surname",
        "familyname",
        "nachname",
        "nomdefamille",
        "apellido",
        "apellidos",
        "achternaam",
        "sobrenome",
        "cognome",
    }
)


def _fits(field: str, value: str) -> bool:
    """Whether one sample value looks like ``field``'s (loosely: the import's parsers judge)."""
    try:
        if field == "email":
            values.parse_email(value)
        elif field == "phone":
            return sum(c.isdigit() for c in value) >= 7 and not any(c.isalpha() for c in value)
        elif field in ("signed_up_at", "last_seen_at"):
            try:
                values.parse_datetime(value, "DMY")
            except InvalidValue:
                values.parse_datetime(value, "MDY")
        elif field == "last_seen_ip":
            values.parse_ip(value)
        elif field == "name":
            return "@" not in value
    except InvalidValue:
        return False
    return True


def _fit_ratio(field: str, sample: Sequence[str]) -> float | None:
    """The share of a column's sample that fits ``field``, or None with too few values."""
    if len(sample) < MIN_SAMPLE:
        return None
    return sum(_fits(field, v) for v in sample) / len(sample)


def _score(field: str, norm: str) -> tuple[int, int] | None:
    rank = _EXACT_RANK[field].get(norm)
    if rank is not None:
        return (0, rank)
    words, excluded = _PARTIAL[field]
    if any(w in norm for w in words) and not any(x in norm for x in excluded):
        return (1, 0)
    return None


def _generic_mapping(
    columns: list[str],
    fields: tuple[str, ...],
    used: set[int],
    samples: Sequence[Sequence[str]],
) -> dict[str, str]:
    norms = [_norm(c) for c in columns]
    first = next((i for i, n in enumerate(norms) if n in _FIRST_NAME and i not in used), None)
    last = next((i for i, n in enumerate(norms) if n in _LAST_NAME and i not in used), None)
    candidates: list[tuple[tuple[int, int], float, int, int, str]] = []
    for order, field in enumerate(fields):
        for i, n in enumerate(norms):
            if i in used or not n or i in (first, last):
                continue
            # 'Name' beside 'Vorname' (and no last-name column) is the surname.
            if field == "name" and first is not None and last is None and n in _SURNAME_LIKE:
                continue
            score = _score(field, n)
            if score is None:
                continue
            ratio = _fit_ratio(field, samples[i])
            if ratio == 0:
                continue  # its values say otherwise ('E-mail 1 - Label' holds '* Home')
            # Within a tier, a column whose values fit better goes first.
            candidates.append((score, -(ratio if ratio is not None else 0.5), order, i, field))
    candidates.sort()
    mapping: dict[str, str] = {}
    for _rank, _fit, _order, i, field in candidates:
        if field in mapping or i in used:
            continue
        mapping[field] = columns[i]
        used.add(i)
    if "name" in fields and "name" not in mapping and first is not None:
        # A first-name column: the name, with the last-name column (or a surname-like 'Name')
        # joined to it by the parser.
        mapping["name"] = columns[first]
        used.add(first)
        if last is None:
            last = next(
                (i for i, n in enumerate(norms) if n in _SURNAME_LIKE and i not in used), None
            )
        if last is not None:
            mapping["name_last"] = columns[last]
            used.add(last)
    return mapping


def suggested_mapping(
    columns: list[str], source: str = "csv", preview: Sequence[Sequence[str]] = ()
) -> dict[str, str]:
    """Suggest which column holds each standard field: {field: column name}.

    Fields are those of `fields.MAPPABLE`; a field without a plausible column is left out, and
    each column is used at most once. Headers are compared normalised (case, accents, spaces and
    punctuation ignored) against the names people use, including German, French, Spanish and
    other common ones ('E-Mail-Adresse', 'Courriel', 'Teléfono', 'Kundennummer' ...); exact
    names win over names that merely contain a keyword ('Work Email'). For 'csv', a name is only
    suggested from a single full-name column (not 'Name' next to 'Vorname', which is a surname).

    For `source='mailchimp_csv'` (MailChimp's audience export) the mapping is complete: 'Email
    Address' -> email, 'First Name' -> name plus the extra key 'name_last' -> 'Last Name' (the
    parser joins them), OPTIN_TIME (else CONFIRM_TIME) -> signed_up_at, OPTIN_IP (else
    CONFIRM_IP) -> last_seen_ip, TAGS -> tags, and a phone-like column -> phone.
    """
    used: set[int] = set()
    mapping: dict[str, str] = {}
    if source == "mailchimp_csv":
        index: dict[str, int] = {}
        for i, column in enumerate(columns):
            index.setdefault(_norm(column), i)

        def take(key: str, *names: str) -> None:
            for name in names:
                i = index.get(name)
                if i is not None and i not in used:
                    mapping[key] = columns[i]
                    used.add(i)
                    return

        take("email", "emailaddress", "email")
        take("name", "firstname", "fname")
        take("name_last" if "name" in mapping else "name", "lastname", "lname")
        take("signed_up_at", "optintime", "confirmtime")
        take("last_seen_ip", "optinip", "confirmip")
        take("tags", "tags")
        take("phone", "phonenumber", "phone")
    samples = [
        [v for row in preview if i < len(row) and (v := row[i].strip())]
        for i in range(len(columns))
    ]
    rest = tuple(f for f in fields.MAPPABLE if f not in mapping)
    mapping.update(_generic_mapping(columns, rest, used, samples))
    return {key: mapping[key] for key in fields.MAPPING_TARGETS if key in mapping}


def column_types(columns: list[str], preview: Sequence[Sequence[str]]) -> dict[str, str]:
    """The type each column would have as a new custom attribute, inferred from its values in
    the upload's first rows as the parser infers it (a slash date that reads only as
    MM/DD/YYYY counts as a date too)."""
    types: dict[str, str] = {}
    for i, column in enumerate(columns):
        sample = [v for row in preview if i < len(row) and (v := row[i].strip())]
        type_ = values.infer_type(sample)
        if type_ == "string" and sample:
            type_ = values.infer_type(sample, "MDY")
        types[column] = type_
    return types


def date_order(
    mapping: dict[str, str], columns: list[str], preview: Sequence[Sequence[str]]
) -> str | None:
    """The date order the mapped date columns' slash dates say ("MDY" when some read only as
    MM/DD/YYYY and none only as DD/MM/YYYY, "DMY" the other way round), else None."""
    index = {c: i for i, c in enumerate(columns)}
    only: set[str] = set()
    for field in ("signed_up_at", "last_seen_at"):
        i = index.get(mapping.get(field, "\0"))
        if i is None:
            continue
        for row in preview:
            value = row[i].strip() if i < len(row) else ""
            if "/" not in value:
                continue
            fits = set()
            for order in ("DMY", "MDY"):
                try:
                    values.parse_datetime(value, order)
                    fits.add(order)
                except InvalidValue:
                    pass
            if len(fits) == 1:
                only |= fits
    return only.pop() if len(only) == 1 else None
