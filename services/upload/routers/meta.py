"""``GET /api/meta``: the product's rules a client needs — the standard fields (shared.fields),
the filter operators per kind, the CSV encodings and delimiters, the custom-attribute naming
rules and types, the countries a default_country may name — so the web UI reads them instead
of keeping copies. Public: it holds no data."""

from __future__ import annotations

from dataclasses import asdict

import phonenumbers
from fastapi import APIRouter

from services.upload import ingestion, rules
from services.upload.schemas import Meta
from shared import csvfile, fields, values
from shared.filters.tree import _OPS

router = APIRouter(prefix="/api", tags=["meta"])


@router.get("/meta", response_model=Meta)
async def meta() -> Meta:
    return Meta(
        fields=[asdict(f) for f in fields.FIELDS],
        mapping_extras=[asdict(f) for f in fields.MAPPING_EXTRAS],
        operators={kind: list(ops) for kind, ops in _OPS.items()},
        encodings=list(csvfile.ENCODINGS),
        delimiters=list(csvfile.DELIMITERS),
        attribute_name={
            "max_length": values.MAX_ATTRIBUTE_NAME,
            "forbidden": [".", "$"],
            "reserved": sorted(fields.NAMES),
        },
        max_attributes=rules.MAX_ATTRIBUTES,
        attribute_types=list(values.ATTRIBUTE_TYPES),
        countries=sorted(phonenumbers.SUPPORTED_REGIONS),
        ingestion_days=ingestion.KEEP_DAYS,
        sources=list(rules.FILE_SOURCES),
    )
