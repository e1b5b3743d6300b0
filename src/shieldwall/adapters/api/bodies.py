"""Request bodies read into memory under a byte limit, never spooled to disk: an image must not
touch the disk (privacy by design), and a body over the limit is refused before it is all read.

``/v1/scan`` and entry uploads take either ``multipart/form-data`` with a ``file`` part, or the
image as the raw body with an image content type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from shieldwall.adapters.api.errors import ApiError

#: Room for multipart headers and other fields on top of the image limit.
MULTIPART_OVERHEAD = 64 * 1024
#: Seconds a client may take to send its body: a slow sender holds a scan slot meanwhile.
BODY_TIMEOUT_SECONDS = 30.0
#: Longest multipart boundary (RFC 2046).
MAX_BOUNDARY = 70
#: Longest form field kept besides the file (``reference``, ``note``...).
MAX_FIELD = 1000
#: Raw-body content types taken as an image (the decoder checks what it really is).
RAW_TYPES = ("image/", "application/octet-stream")


@dataclass
class Upload:
    data: bytes
    fields: dict[str, str] = field(default_factory=dict)


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise ApiError(400, "bad_request", "Content-Length is not a number") from None
        if length > limit:
            raise ApiError(413, "too_many_bytes", f"{length} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(BODY_TIMEOUT_SECONDS):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(
                        413, "too_many_bytes", f"the body is over the limit of {limit} bytes"
                    )
                chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "the client closed the connection") from None
    except TimeoutError:
        raise ApiError(
            408, "request_timeout", f"the body took over {BODY_TIMEOUT_SECONDS:.0f} s to arrive"
        ) from None
    return b"".join(chunks)


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """The uploaded image (and small form fields), or ApiError 413/415/422."""
    content_type = request.headers.get("content-type", "")
    kind, options = parse_options_header(content_type)
    kind_text = kind.decode("latin-1").lower()
    if kind_text == "multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary or len(boundary) > MAX_BOUNDARY:
            raise ApiError(
                422, "bad_multipart", f"a multipart boundary is 1-{MAX_BOUNDARY} characters"
            )
        body = await read_limited(request, max_bytes + MULTIPART_OVERHEAD)
        return _parse_multipart(body, boundary, max_bytes)
    if kind_text.startswith(RAW_TYPES):
        return Upload(await read_limited(request, max_bytes))
    raise ApiError(
        415,
        "unsupported_media_type",
        "send multipart/form-data with a 'file' part, or the image as the body with an image/* "
        f"content type (got {content_type[:60]!r})",
    )


def _parse_multipart(body: bytes, boundary: bytes, max_bytes: int) -> Upload:
    parts: list[tuple[dict[bytes, bytes], bytearray]] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        parts.append(({}, bytearray()))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1][0][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    try:
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": on_part_begin,
                "on_part_data": on_part_data,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
                "on_header_end": on_header_end,
            },
        )
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise ApiError(422, "bad_multipart", f"malformed multipart body: {exc}") from None
    upload = Upload(b"")
    found = False
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if name == "file" and not found:
            if len(data) > max_bytes:
                raise ApiError(413, "too_many_bytes", f"the file is over {max_bytes} bytes")
            upload.data, found = bytes(data), True
        elif name and len(data) <= MAX_FIELD:
            upload.fields[name] = data.decode("utf-8", "replace")
    if not found:
        raise ApiError(422, "missing_file", "the multipart body has no 'file' part")
    return upload
