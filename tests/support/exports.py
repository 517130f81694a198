"""The exports people really bring (issue 17): one fixture per vendor in
``tests/fixtures/exports/`` — the header exactly as the vendor's export writes it, a few rows —
with the mapping Usher must suggest for it and what must land for each person when that
mapping is confirmed as it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"


@dataclass(frozen=True)
class Export:
    vendor: str
    file: str
    mapping: dict[str, str]
    people: list[dict[str, Any]]  # by email: the standard fields that must land
    date_order: str | None = None  # what the upload's answer detects from the dates
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return EXPORTS / self.file


VENDORS: list[Export] = [
    Export(
        "Shopify customers",
        "shopify_customers.csv",
        {
            "email": "Email",
            "user_id": "Customer ID",
            "name": "First Name",
            "phone": "Phone",
            "tags": "Tags",
            "name_last": "Last Name",
        },
        [
            {
                "email": "emma.rossi@example.com",
                "user_id": "7015145013453",
                "name": "Emma Rossi",
                "phone": "+393471234567",
                "tags": ["VIP", "wholesale"],
            },
            {"email": "noah.schmidt@example.com", "name": "Noah Schmidt", "tags": ["newsletter"]},
            {"email": "chloe.martin@example.com", "name": "Chloé Martin", "tags": []},
        ],
    ),
    Export(
        "HubSpot contacts",
        "hubspot_contacts.csv",
        {
            "email": "Email",
            "name": "First Name",
            "signed_up_at": "Create Date",
            "phone": "Phone Number",
            "last_seen_at": "Last Activity Date",
            "name_last": "Last Name",
        },
        [
            {
                "email": "liam.walker@example.com",
                "name": "Liam Walker",
                "phone": "+16175550142",
                "signed_up_at": "2019-04-15T18:47:00Z",
                "last_seen_at": "2023-05-02T09:15:00Z",
            },
            {"email": "mateo.silva@example.com", "signed_up_at": "2021-01-20T12:30:00Z"},
        ],
    ),
    Export(
        "Stripe customers",
        "stripe_customers.csv",
        {
            "email": "Email",
            "user_id": "id",
            "name": "Name",
            "signed_up_at": "Created (UTC)",
            "phone": "Phone",
        },
        [
            {
                "email": "jenny.rosen@example.com",
                "user_id": "cus_NffrFeUfNV2Hib",
                "name": "Jenny Rosen",
                "phone": "+14155550123",
                "signed_up_at": "2019-04-15T18:47:00Z",
            },
            {"email": "yuki.tanaka@example.com", "signed_up_at": "2021-02-28T23:59:00Z"},
        ],
    ),
    Export(
        "Google Contacts",
        "google_contacts.csv",
        {
            "email": "E-mail 1 - Value",
            "name": "First Name",
            "phone": "Phone 1 - Value",
            "tags": "Labels",
            "name_last": "Last Name",
        },
        [
            {
                "email": "ana.costa@example.com",
                "name": "Ana Costa",
                "phone": "+351912345678",
                "tags": ["* myContacts"],
            },
            {"email": "ben.okafor@example.com", "name": "Ben Okafor", "phone": "+2348031234567"},
        ],
    ),
    Export(
        "Outlook contacts",
        "outlook_contacts.csv",
        {
            "email": "E-mail Address",
            "name": "First Name",
            "phone": "Mobile Phone",
            "tags": "Categories",
            "name_last": "Last Name",
        },
        [
            {
                "email": "olivia.brown@example.com",
                "name": "Olivia Brown",
                "phone": "+447911123456",
                "tags": ["Customers"],
            },
            {"email": "lucas.mueller@example.com", "name": "Lucas Müller"},
        ],
    ),
    Export(
        "Intercom people",
        "intercom_people.csv",
        {
            "email": "Email",
            "user_id": "User ID",
            "name": "Name",
            "signed_up_at": "Signed up (GMT)",
            "phone": "Phone",
            "last_seen_at": "Last Seen (GMT)",
            "tags": "Tags",
        },
        [
            {
                "email": "priya.patel@example.com",
                "user_id": "u-1001",
                "name": "Priya Patel",
                "phone": "+919876543210",
                "signed_up_at": "2023-05-01T14:03:00Z",
                "last_seen_at": "2023-06-12T08:30:00Z",
                "tags": ["beta", "Enterprise"],
            },
            {"email": "lena.novak@example.com", "tags": ["Enterprise"]},
        ],
    ),
    Export(
        "Klaviyo profiles",
        "klaviyo_profiles.csv",
        {
            "email": "Email",
            "name": "First Name",
            "signed_up_at": "Date Added",
            "phone": "Phone Number",
            "last_seen_at": "Last Active",
            "last_seen_ip": "IP Address",
            "name_last": "Last Name",
        },
        [
            {
                "email": "grace.kim@example.com",
                "name": "Grace Kim",
                "phone": "+12125550143",
                "signed_up_at": "2023-05-01T14:03:00Z",
                "last_seen_at": "2023-06-02T09:13:10Z",
                "last_seen_ip": "203.0.113.7",
            },
            {"email": "hana.sato@example.com", "name": "Hana Sato", "last_seen_ip": "2001:db8::7"},
        ],
    ),
    Export(
        "Salesforce contacts",
        "salesforce_contacts.csv",
        {
            "email": "Email",
            "user_id": "Contact ID",
            "name": "First Name",
            "signed_up_at": "Created Date",
            "phone": "Phone",
            "last_seen_at": "Last Activity",
            "name_last": "Last Name",
        },
        [
            {
                "email": "james.miller@example.com",
                "user_id": "0035g00000AbCdEAAV",
                "name": "James Miller",
                "phone": "+14155550199",
                "signed_up_at": "2019-04-15T18:47:00Z",
                "last_seen_at": "2023-05-02T00:00:00Z",
            },
            {"email": "kenji.watanabe@example.com", "signed_up_at": "2021-01-13T12:00:00Z"},
        ],
        date_order="MDY",
    ),
]
