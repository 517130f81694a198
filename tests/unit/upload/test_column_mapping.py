"""Column suggestions for an upload's mapping step (services/upload/column_mapping.py), with
real exports' headers."""

from __future__ import annotations

import pytest

from services.upload import column_mapping
from services.upload.column_mapping import suggested_mapping
from shared import csvfile
from tests.support.exports import VENDORS, Export


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            ["Email", "Name", "User ID", "Signed up", "Phone", "Last seen", "IP address", "Tags"],
            {
                "email": "Email",
                "user_id": "User ID",
                "name": "Name",
                "signed_up_at": "Signed up",
                "phone": "Phone",
                "last_seen_at": "Last seen",
                "last_seen_ip": "IP address",
                "tags": "Tags",
            },
        ),
        (
            ["id", "email_address", "full_name", "created_at", "mobile", "last_login", "ip"],
            {
                "email": "email_address",
                "user_id": "id",
                "name": "full_name",
                "signed_up_at": "created_at",
                "phone": "mobile",
                "last_seen_at": "last_login",
                "last_seen_ip": "ip",
            },
        ),
        (  # German; "Name" next to "Vorname" is the surname, joined to it
            ["Kundennummer", "Vorname", "Name", "E-Mail-Adresse", "Telefon", "Registriert am"],
            {
                "email": "E-Mail-Adresse",
                "user_id": "Kundennummer",
                "name": "Vorname",
                "signed_up_at": "Registriert am",
                "phone": "Telefon",
                "name_last": "Name",
            },
        ),
        (
            ["E-Mail", "Name", "Handy", "Letzte Anmeldung", "Schlagworte"],
            {
                "email": "E-Mail",
                "name": "Name",
                "phone": "Handy",
                "last_seen_at": "Letzte Anmeldung",
                "tags": "Schlagworte",
            },
        ),
        (  # French
            [
                "Courriel",
                "Nom complet",
                "Téléphone",
                "Date d'inscription",
                "Dernière connexion",
                "Adresse IP",
                "Étiquettes",
                "Identifiant",
            ],
            {
                "email": "Courriel",
                "user_id": "Identifiant",
                "name": "Nom complet",
                "signed_up_at": "Date d'inscription",
                "phone": "Téléphone",
                "last_seen_at": "Dernière connexion",
                "last_seen_ip": "Adresse IP",
                "tags": "Étiquettes",
            },
        ),
        (
            ["Prénom", "Nom", "Adresse e-mail"],
            {"email": "Adresse e-mail", "name": "Prénom", "name_last": "Nom"},
        ),
        (  # Spanish
            ["Nombre", "Correo electrónico", "Teléfono", "Fecha de registro", "Último acceso"],
            {
                "email": "Correo electrónico",
                "name": "Nombre",
                "signed_up_at": "Fecha de registro",
                "phone": "Teléfono",
                "last_seen_at": "Último acceso",
            },
        ),
        (
            ["ID de cliente", "Correo", "Etiquetas"],
            {"email": "Correo", "user_id": "ID de cliente", "tags": "Etiquetas"},
        ),
        (  # exact names win, each column once, weaker matches only for what is left
            ["Work Email", "Email", "Email verified", "Mail", "Phone type", "Mobile Phone"],
            {"email": "Email", "phone": "Mobile Phone"},
        ),
        (
            ["Contact email", "Customer ID", "ID"],
            {"email": "Contact email", "user_id": "Customer ID"},
        ),
        (
            ["Stripe customer id", "E-mail (work)"],
            {"email": "E-mail (work)", "user_id": "Stripe customer id"},
        ),
        (
            ["EMAIL", "SIGNUP_DATE", "LAST_SEEN_IP"],
            {"email": "EMAIL", "signed_up_at": "SIGNUP_DATE", "last_seen_ip": "LAST_SEEN_IP"},
        ),
        (
            ["Sign-up date (UTC)", "Signup source", "email"],
            {"email": "email", "signed_up_at": "Sign-up date (UTC)"},
        ),
        (["first name", "last name", "company"], {"name": "first name", "name_last": "last name"}),
        (
            ["Given Name", "Surname", "Email"],
            {"email": "Email", "name": "Given Name", "name_last": "Surname"},
        ),
        (  # a full-name column wins over the pair (Google's older export)
            ["Name", "Given Name", "Family Name", "E-mail 1 - Type", "E-mail 1 - Value"],
            {"email": "E-mail 1 - Value", "name": "Name"},
        ),
        (  # a value column wins over its label sibling, whatever their order
            ["E-mail 1 - Label", "E-mail 1 - Value", "Phone 1 - Label", "Phone 1 - Value"],
            {"email": "E-mail 1 - Value", "phone": "Phone 1 - Value"},
        ),
        (  # HubSpot contacts export
            [
                "Record ID",
                "First Name",
                "Last Name",
                "Email",
                "Phone Number",
                "Create Date",
                "Last Activity Date",
                "IP Country",
                "Email Domain",
                "Marketing contact status",
            ],
            {
                "email": "Email",
                "name": "First Name",
                "signed_up_at": "Create Date",
                "phone": "Phone Number",
                "last_seen_at": "Last Activity Date",
                "name_last": "Last Name",
            },
        ),
        (  # Stripe customers export
            ["id", "Description", "Email", "Name", "Created (UTC)", "Card Created", "Created by"],
            {"email": "Email", "user_id": "id", "name": "Name", "signed_up_at": "Created (UTC)"},
        ),
        (  # Intercom users export
            "Name,Email,User ID,Signed up (UTC),Last seen (UTC),Last seen IP,"
            "Unsubscribed from Emails,Company name,Tags".split(","),
            {
                "email": "Email",
                "user_id": "User ID",
                "name": "Name",
                "signed_up_at": "Signed up (UTC)",
                "last_seen_at": "Last seen (UTC)",
                "last_seen_ip": "Last seen IP",
                "tags": "Tags",
            },
        ),
        (  # Shopify customers export
            "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,"
            "Default Address Phone,Phone,Accepts SMS Marketing,Tags".split(","),
            {
                "email": "Email",
                "user_id": "Customer ID",
                "name": "First Name",
                "phone": "Phone",
                "tags": "Tags",
                "name_last": "Last Name",
            },
        ),
        ([], {}),
    ],
)
def test_suggested_mapping(columns: list[str], expected: dict[str, str]) -> None:
    assert suggested_mapping(columns) == expected


MAILCHIMP_HEADER = [
    "Email Address",
    "First Name",
    "Last Name",
    "Address",
    "Phone Number",
    "Birthday",
    "MEMBER_RATING",
    "OPTIN_TIME",
    "OPTIN_IP",
    "CONFIRM_TIME",
    "CONFIRM_IP",
    "LATITUDE",
    "LONGITUDE",
    "GMTOFF",
    "DSTOFF",
    "TIMEZONE",
    "CC",
    "REGION",
    "LAST_CHANGED",
    "LEID",
    "EUID",
    "NOTES",
    "TAGS",
]


def test_suggested_mapping_mailchimp_export() -> None:
    assert suggested_mapping(MAILCHIMP_HEADER, "mailchimp_csv") == {
        "email": "Email Address",
        "name": "First Name",
        "signed_up_at": "OPTIN_TIME",
        "phone": "Phone Number",
        "last_seen_ip": "OPTIN_IP",
        "tags": "TAGS",
        "name_last": "Last Name",
    }


def test_suggested_mapping_mailchimp_fallbacks() -> None:
    columns = [c for c in MAILCHIMP_HEADER if c not in ("OPTIN_TIME", "OPTIN_IP", "First Name")]
    mapping = suggested_mapping(columns, "mailchimp_csv")
    assert mapping["signed_up_at"] == "CONFIRM_TIME"
    assert mapping["last_seen_ip"] == "CONFIRM_IP"
    assert mapping["name"] == "Last Name"
    assert "name_last" not in mapping
    # the plain csv mapping of the same file pairs the names the same way (SPEC §6.5)
    assert suggested_mapping(MAILCHIMP_HEADER)["name_last"] == "Last Name"
    assert suggested_mapping(MAILCHIMP_HEADER)["email"] == "Email Address"


# -- the values, not only the headers ------------------------------------------------------------


def test_a_column_whose_values_are_not_emails_is_not_the_email() -> None:
    columns = ["Email", "Work Email", "Name"]
    preview = [["yes", "a@example.com", "Ann"], ["no", "b@example.com", "Bo"], ["yes", "", "Cy"]]
    preview.append(["no", "d@example.com", "Di"])
    assert suggested_mapping(columns, "csv", preview)["email"] == "Work Email"
    assert suggested_mapping(columns)["email"] == "Email"  # no rows: the headers decide


def test_too_few_values_say_nothing() -> None:
    preview = [["not an email", "a@example.com"], ["", ""]]
    assert suggested_mapping(["Email", "Contact email"], "csv", preview)["email"] == "Email"


def test_a_label_column_is_never_the_phone() -> None:
    columns = ["Phone 1 - Label", "Phone 1 - Value"]
    preview = [["Mobile", "+44 7911 123456"], ["Work", "+1 415 555 0100"], ["Home", ""]]
    assert suggested_mapping(columns, "csv", preview) == {"phone": "Phone 1 - Value"}


@pytest.mark.parametrize("export", VENDORS, ids=lambda e: e.vendor)
def test_vendor_exports(export: Export) -> None:
    detected = csvfile.detect(export.path)
    columns, preview = csvfile.read_header_and_preview(export.path, detected)
    mapping = suggested_mapping(columns, "csv", preview)
    assert mapping == export.mapping
    assert column_mapping.date_order(mapping, columns, preview) == export.date_order


def test_column_types() -> None:
    columns = ["Seats", "Beta", "Plan", "Renewal", "Code", "Empty"]
    preview = [
        ["3", "yes", "pro", "4/15/2019", "007", ""],
        ["12", "no", "free", "12/1/2020", "010", ""],
    ]
    assert column_mapping.column_types(columns, preview) == {
        "Seats": "integer",
        "Beta": "boolean",
        "Plan": "string",
        "Renewal": "date",  # read as MM/DD/YYYY: 4/15 is no DD/MM date
        "Code": "string",
        "Empty": "string",
    }


def test_date_order_from_the_mapped_dates() -> None:
    columns = ["email", "signed up"]
    mapping = {"email": "email", "signed_up_at": "signed up"}
    assert column_mapping.date_order(mapping, columns, [["a@x.io", "4/15/2019"]]) == "MDY"
    assert column_mapping.date_order(mapping, columns, [["a@x.io", "15/4/2019"]]) == "DMY"
    assert column_mapping.date_order(mapping, columns, [["a@x.io", "1/2/2019"]]) is None
    both = [["a@x.io", "15/4/2019"], ["b@x.io", "4/15/2019"]]
    assert column_mapping.date_order(mapping, columns, both) is None
