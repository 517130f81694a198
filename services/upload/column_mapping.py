"""Which column of an upload most likely holds each standard field (the upload's
``suggested_mapping``). Only the upload service suggests mappings."""

from __future__ import annotations

import unicodedata
from typing import Final

from shared import fields


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
        ("type", "verif", "optin", "consent", "country", "code", "prefix", "ext", "valid"),
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


def _score(field: str, norm: str) -> tuple[int, int] | None:
    rank = _EXACT_RANK[field].get(norm)
    if rank is not None:
        return (0, rank)
    words, excluded = _PARTIAL[field]
    if any(w in norm for w in words) and not any(x in norm for x in excluded):
        return (1, 0)
    return None


def _generic_mapping(columns: list[str], fields: tuple[str, ...], used: set[int]) -> dict[str, str]:
    norms = [_norm(c) for c in columns]
    has_first_name = any(n in _FIRST_NAME for n in norms)
    candidates: list[tuple[tuple[int, int], int, int, str]] = []
    for order, field in enumerate(fields):
        for i, n in enumerate(norms):
            if i in used or not n:
                continue
            if field == "name" and has_first_name and n in _SURNAME_LIKE:
                continue
            score = _score(field, n)
            if score is not None:
                candidates.append((score, order, i, field))
    candidates.sort()
    mapping: dict[str, str] = {}
    for _rank, _order, i, field in candidates:
        if field in mapping or i in used:
            continue
        mapping[field] = columns[i]
        used.add(i)
    return mapping


def suggested_mapping(columns: list[str], source: str = "csv") -> dict[str, str]:
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
    rest = tuple(f for f in fields.MAPPABLE if f not in mapping)
    mapping.update(_generic_mapping(columns, rest, used))
    return {key: mapping[key] for key in fields.MAPPING_TARGETS if key in mapping}
