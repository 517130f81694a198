"""Column suggestions for an upload's mapping step (services/upload/column_mapping.py), with
real exports' headers."""

from __future__ import annotations

import pytest

from services.upload.column_mapping import suggested_mapping


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
        (  # German; "Name" next to "Vorname" is the surname: no name suggested
            ["Kundennummer", "Vorname", "Name", "E-Mail-Adresse", "Telefon", "Registriert am"],
            {
                "email": "E-Mail-Adresse",
                "user_id": "Kundennummer",
                "signed_up_at": "Registriert am",
                "phone": "Telefon",
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
        (["Prénom", "Nom", "Adresse e-mail"], {"email": "Adresse e-mail"}),
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
        (["first name", "last name", "company"], {}),
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
                "signed_up_at": "Create Date",
                "phone": "Phone Number",
                "last_seen_at": "Last Activity Date",
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
            {"email": "Email", "user_id": "Customer ID", "phone": "Phone", "tags": "Tags"},
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
    # the plain csv mapping of the same file never invents name_last
    assert "name_last" not in suggested_mapping(MAILCHIMP_HEADER)
    assert suggested_mapping(MAILCHIMP_HEADER)["email"] == "Email Address"
