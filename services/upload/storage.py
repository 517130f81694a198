"""Uploaded files: streamed from the request body straight to ``USHER_STORAGE_DIR``.

The multipart body is parsed incrementally as it arrives (python-multipart's push parser), so
memory stays constant whatever the file size and each byte is written once. Files are stored
under random keys; the client's file name is kept only as display text.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from services.upload.errors import ApiError

MAX_FIELD_BYTES = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024


def new_key() -> str:
    return secrets.token_hex(16)


def path_for(storage_dir: Path, key: str) -> Path:
    return storage_dir / key


def display_name(raw: str | None) -> str | None:
    """The client's file name reduced to its last component, for display only."""
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:255] or None


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"the file is larger than the limit of {limit:,} bytes (USHER_MAX_UPLOAD_BYTES);"
        " split it into smaller files",
        {"max_bytes": limit},
    )


@dataclass
class Upload:
    key: str
    path: Path
    size: int = 0
    file_name: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


async def receive_file(request: Request, storage_dir: Path, limit: int) -> Upload:
    """Store the multipart part named ``file``; other small form fields come back in ``fields``.

    Raises 413 as soon as the file passes ``limit`` bytes (the partial file is removed) and
    422 when the body is not multipart or has no file.
    """
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in params:
        raise ApiError(
            422,
            "invalid",
            "send the file as multipart/form-data with a part named 'file'",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + MULTIPART_OVERHEAD:
        raise too_large(limit)
    storage_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one cheap call
    upload = Upload(key=new_key(), path=Path())
    upload.path = path_for(storage_dir, upload.key)
    state: dict[str, object] = {"headers": {}, "name": None, "field": None}
    header_field = bytearray()
    header_value = bytearray()
    out: BinaryIO | None = None
    field_buf = bytearray()
    seen_file = False
    problem: ApiError | None = None

    def on_part_begin() -> None:
        state["headers"] = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        headers = state["headers"]
        assert isinstance(headers, dict)
        headers[bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        nonlocal out, seen_file, problem
        headers = state["headers"]
        assert isinstance(headers, dict)
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        state["name"] = name
        field_buf.clear()
        if name == "file" and seen_file:
            problem = ApiError(
                422, "invalid", "send one file per upload: the request has a second 'file' part"
            )
        elif name == "file":
            seen_file = True
            raw_name = disposition.get(b"filename")
            upload.file_name = display_name(
                raw_name.decode("utf-8", "replace") if raw_name else None
            )
            out = open(upload.path, "wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        nonlocal problem
        if problem is not None:
            return
        if out is not None and state["name"] == "file":
            upload.size += end - start
            if upload.size > limit:
                problem = too_large(limit)
                return
            out.write(data[start:end])
        else:
            field_buf.extend(data[start:end])
            if len(field_buf) > MAX_FIELD_BYTES:
                problem = ApiError(413, "too_large", "a form field is larger than 64 KiB")

    def on_part_end() -> None:
        nonlocal out
        if out is not None and state["name"] == "file":
            out.close()
            out = None
        elif isinstance(state["name"], str) and state["name"]:
            upload.fields[state["name"]] = field_buf.decode("utf-8", "replace")

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
        max_header_count=16,
    )
    stored = False
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if problem is not None:
                raise problem
        parser.finalize()
        stored = seen_file
    except ClientDisconnect:
        raise ApiError(
            400, "incomplete", "the upload was interrupted; send the file again"
        ) from None
    except ApiError:
        raise
    except Exception as exc:  # python-multipart raises several error types for broken bodies
        raise ApiError(422, "invalid", f"the multipart body could not be read: {exc}") from None
    finally:
        if out is not None:
            out.close()
        if not stored:
            try:
                os.unlink(upload.path)
            except FileNotFoundError:
                pass
    if not seen_file:
        raise ApiError(422, "invalid", "no file in the request: send it in a part named 'file'")
    return upload


async def receive_body(request: Request, storage_dir: Path, limit: int) -> Upload:
    """Stream the whole request body to a new file (a bulk body). 413 past ``limit`` bytes;
    the partial file is removed on any failure."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    storage_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one cheap call
    upload = Upload(key=new_key(), path=Path())
    upload.path = path_for(storage_dir, upload.key)
    try:
        with open(upload.path, "wb") as out:  # noqa: ASYNC230 - local disk, a block at a time
            async for block in request.stream():
                upload.size += len(block)
                if upload.size > limit:
                    raise too_large(limit)
                out.write(block)
    except ClientDisconnect:
        upload.path.unlink(missing_ok=True)
        raise ApiError(400, "incomplete", "the body was cut off; send it again") from None
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    return upload
