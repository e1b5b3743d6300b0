"""The inputs fuzzing POST /v1/scan sends, as Hypothesis strategies: random bytes; image magic
plus random bytes; truncated, bit-flipped and spliced images; decompression bombs; valid images;
wrong content types; malformed multipart; empty bodies; bodies over the byte limit; bad
Authorization headers; malformed HTTP for a raw socket. ``cases(material)`` draws any of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from fuzz_images import UNDER_LIMIT, Sample

MAGICS = [
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    b"\xff\xd8\xff\xdb",
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"RIFF\xff\xff\xff\xffWEBPVP8L",
    b"GIF89a",
    b"GIF87a",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"\x00\x00\x01\x00",
    b"%PDF-1.4\n",
    b"\x00\x00\x00\x18ftypheic",
]


@dataclass
class Case:
    kind: str
    label: str
    body: bytes = b""
    content_type: str | None = "image/jpeg"
    auth: str | None = None  # None: the valid key
    envelope: str = "raw"  # raw | multipart | chunked | prebuilt (body is the whole request body)
    params: dict[str, str] = field(default_factory=dict)
    extra_headers: dict[str, str] = field(default_factory=dict)
    raw_request: bytes | None = None  # sent on a socket as it is (malformed HTTP)
    hang_up: bool = False  # close the socket without reading an answer


Draw = Callable[[Any], Any]


@dataclass
class Material:
    pool: list[Sample]
    bombs: list[Sample]
    token: str
    max_bytes: int


def draw_envelope(draw: Draw, sample: Sample) -> tuple[str, str | None]:
    envelope = draw(st.sampled_from(["raw", "raw", "raw", "multipart", "multipart", "chunked"]))
    content_type = draw(
        st.sampled_from(
            [sample.content_type] * 4 + ["application/octet-stream", "image/png", "image/jpeg"]
        )
    )
    return envelope, content_type


def case_random_bytes(draw: Draw, m: Material) -> Case:
    if draw(st.booleans()):
        body = draw(st.binary(min_size=1, max_size=2048))
        label = f"hypothesis binary ({len(body)} B)"
    else:
        size = draw(st.integers(1, 400_000))
        body = np.random.default_rng(draw(st.integers(0, 2**32))).bytes(size)
        label = f"numpy random ({size} B)"
    envelope = draw(st.sampled_from(["raw", "raw", "multipart", "chunked"]))
    content_type = draw(st.sampled_from(["image/jpeg", "image/png", "application/octet-stream"]))
    return Case("random_bytes", label, body, content_type, envelope=envelope)


def case_magic_random(draw: Draw, m: Material) -> Case:
    magic = draw(st.sampled_from(MAGICS))
    tail = draw(st.binary(max_size=1024))
    body = magic + tail
    envelope, content_type = draw_envelope(draw, Sample("", b"", "image/jpeg"))
    return Case(
        "magic_random", f"magic {magic[:12]!r} + {len(tail)} B", body, content_type, None, envelope
    )


def case_truncated(draw: Draw, m: Material) -> Case:
    sample = draw(st.sampled_from(m.pool))
    cut = draw(st.integers(0, len(sample.data) - 1))
    envelope, content_type = draw_envelope(draw, sample)
    label = f"{sample.label} cut at {cut}/{len(sample.data)}"
    return Case("truncated", label, sample.data[:cut], content_type, None, envelope)


def case_bitflip(draw: Draw, m: Material) -> Case:
    sample = draw(st.sampled_from(m.pool))
    data = bytearray(sample.data)
    how = draw(st.sampled_from(["flip", "flip-header", "bytes", "splice"]))
    if how in ("flip", "flip-header"):
        top = min(len(data), 256) if how == "flip-header" else len(data)
        positions = draw(st.lists(st.integers(0, top * 8 - 1), min_size=1, max_size=32))
        for bit in positions:
            data[bit // 8] ^= 1 << (bit % 8)
        detail = f"{len(positions)} bit flips{' in the header' if how == 'flip-header' else ''}"
    elif how == "bytes":
        writes = draw(
            st.lists(
                st.tuples(
                    st.integers(0, min(len(data), 512) - 1),
                    st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]),
                ),
                min_size=1,
                max_size=8,
            )
        )
        for position, value in writes:
            data[position] = value
        detail = f"bytes set {writes}"
    else:
        start = draw(st.integers(0, len(data) - 1))
        length = draw(st.integers(1, 4096))
        if draw(st.booleans()):
            data[start:start] = data[start : start + length]
            detail = f"{length} B at {start} repeated"
        else:
            del data[start : start + length]
            detail = f"{length} B at {start} deleted"
    envelope, content_type = draw_envelope(draw, sample)
    return Case("corrupted", f"{sample.label}: {detail}", bytes(data), content_type, None, envelope)


def case_valid(draw: Draw, m: Material) -> Case:
    sample = draw(st.sampled_from(m.pool))
    envelope, content_type = draw_envelope(draw, sample)
    case = Case("valid", sample.label, sample.data, content_type, None, envelope)
    if draw(st.integers(0, 4)) == 0:
        reference = draw(st.text(max_size=260))
        case.params["reference"] = reference
        case.label += f" reference={len(reference)} chars"
    return case


def case_bomb(draw: Draw, m: Material) -> Case:
    costly = [b for b in m.bombs if UNDER_LIMIT in b.label]
    cheap = [b for b in m.bombs if UNDER_LIMIT not in b.label]
    sample = draw(st.sampled_from(costly if draw(st.integers(0, 3)) == 0 else cheap))
    envelope, content_type = draw_envelope(draw, sample)
    return Case("bomb", sample.label, sample.data, content_type, None, envelope)


WRONG_TYPES = [
    "text/plain",
    "application/json",
    None,
    "",
    "image",
    "IMAGE/JPEG",
    "image/jpeg; charset=utf-8",
    'image/png; x="\\',
    "application/x-www-form-urlencoded",
    "multipart/mixed; boundary=abc",
    "video/mp4",
    ";;;==",
    "text/html; boundary=x",
    "image/" + "x" * 3000,
]


def case_wrong_type(draw: Draw, m: Material) -> Case:
    sample = draw(st.sampled_from(m.pool))
    content_type = draw(st.sampled_from(WRONG_TYPES))
    label = f"{sample.label} as {content_type!r:.40}"
    return Case("wrong_content_type", label, sample.data, content_type)


def part(headers: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


def multipart(boundary: bytes, parts: list[bytes], *, close: bool = True) -> bytes:
    out = b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
    return out + (b"--" + boundary + b"--\r\n" if close else b"")


FILE_HEADER = b'Content-Disposition: form-data; name="file"; filename="a.jpg"'


B = b"fuzzb0undary"
MULTIPART = f"multipart/form-data; boundary={B.decode()}"
#: A malformed multipart body: (draw, the image) -> (body, Content-Type).
Malform = Callable[[Draw, bytes], tuple[bytes, str]]


def file_part(image: bytes) -> bytes:
    return part([FILE_HEADER, b"Content-Type: image/jpeg"], image)


def field_part(name: bytes, value: bytes) -> bytes:
    return part([b'Content-Disposition: form-data; name="' + name + b'"'], value)


def mp_misnamed(draw: Draw, image: bytes) -> tuple[bytes, str]:
    name = draw(st.sampled_from([b"File", b"files", b"", b"file[]", b"image"]))
    return multipart(B, [field_part(name, image)]), MULTIPART


def mp_garbage(draw: Draw, image: bytes) -> tuple[bytes, str]:
    garbage = draw(st.lists(st.binary(max_size=300), min_size=1, max_size=6))
    body = b"".join(b"--" + B + b"\r\n" + g + b"\r\n" for g in garbage) + b"--" + B + b"--\r\n"
    return body, MULTIPART


def mp_big_header(draw: Draw, image: bytes) -> tuple[bytes, str]:
    size = draw(st.sampled_from([8_000, 60_000, 70_000, 500_000]))
    return multipart(B, [part([FILE_HEADER, b"X-Big: " + b"a" * size], image)]), MULTIPART


def mp_many_headers(draw: Draw, image: bytes) -> tuple[bytes, str]:
    count = draw(st.integers(100, 5000))
    headers = [FILE_HEADER, *[b"X-H%d: v" % i for i in range(count)]]
    return multipart(B, [part(headers, image)]), MULTIPART


def mp_unterminated(draw: Draw, image: bytes) -> tuple[bytes, str]:
    body = multipart(B, [file_part(image)], close=False)
    return body[: draw(st.integers(1, len(body)))], MULTIPART


def mp_long_boundary(draw: Draw, image: bytes) -> tuple[bytes, str]:
    long = b"b" * draw(st.integers(71, 2000))
    return multipart(long, [file_part(image)]), f"multipart/form-data; boundary={long.decode()}"


def mp_odd_boundary(draw: Draw, image: bytes) -> tuple[bytes, str]:
    odd = draw(st.sampled_from([b"a b", b"'quote'", b"semi;colon", b"--", b"\xc3\xa9"]))
    ctype = 'multipart/form-data; boundary="' + odd.decode("latin-1") + '"'
    return multipart(odd, [file_part(image)]), ctype


def mp_nested(draw: Draw, image: bytes) -> tuple[bytes, str]:
    inner = multipart(b"inner", [file_part(image)])
    header = b"Content-Type: multipart/mixed; boundary=inner"
    return multipart(B, [part([FILE_HEADER, header], inner)]), MULTIPART


def mp_many_fields(draw: Draw, image: bytes) -> tuple[bytes, str]:
    fields = [field_part(b"f%d" % i, b"v") for i in range(draw(st.integers(100, 3000)))]
    return multipart(B, [*fields, file_part(image)]), MULTIPART


MALFORMED_MULTIPART: dict[str, Malform] = {
    "no boundary": lambda d, i: (multipart(B, [file_part(i)]), "multipart/form-data"),
    "empty boundary": lambda d, i: (
        multipart(B, [file_part(i)]),
        'multipart/form-data; boundary=""',
    ),
    "boundary mismatch": lambda d, i: (multipart(b"other", [file_part(i)]), MULTIPART),
    "no file part": lambda d, i: (multipart(B, [field_part(b"reference", b"x")]), MULTIPART),
    "file part misnamed": mp_misnamed,
    "garbage parts": mp_garbage,
    "enormous part header": mp_big_header,
    "many part headers": mp_many_headers,
    "header without colon": lambda d, i: (
        multipart(B, [part([FILE_HEADER, b"no colon here"], i)]),
        MULTIPART,
    ),
    "no blank line": lambda d, i: (
        b"--" + B + b"\r\n" + FILE_HEADER + b"\r\n" + i + b"\r\n--" + B + b"--\r\n",
        MULTIPART,
    ),
    "LF line endings": lambda d, i: (
        b"--" + B + b"\n" + FILE_HEADER + b"\n\n" + i + b"\n--" + B + b"--\n",
        MULTIPART,
    ),
    "unterminated": mp_unterminated,
    "preamble and epilogue": lambda d, i: (
        b"preamble\r\n" + multipart(B, [file_part(i)]) + b"epilogue" * 10,
        MULTIPART,
    ),
    "two file parts": lambda d, i: (multipart(B, [file_part(i), file_part(i)]), MULTIPART),
    "long boundary": mp_long_boundary,
    "odd boundary characters": mp_odd_boundary,
    "nested multipart": mp_nested,
    "empty file part": lambda d, i: (multipart(B, [part([FILE_HEADER], b"")]), MULTIPART),
    "non-UTF-8 field names": lambda d, i: (
        multipart(B, [field_part(b"\xff\xfe", b"x"), file_part(i)]),
        MULTIPART,
    ),
    "many fields": mp_many_fields,
    "huge reference field": lambda d, i: (
        multipart(B, [field_part(b"reference", b"r" * 999), file_part(i)]),
        MULTIPART,
    ),
    "only closing boundary": lambda d, i: (b"--" + B + b"--\r\n", MULTIPART),
    "random body": lambda d, i: (d(st.binary(max_size=2048)), MULTIPART),
}


def case_multipart(draw: Draw, m: Material) -> Case:
    sample = draw(st.sampled_from(m.pool))
    how = draw(st.sampled_from(sorted(MALFORMED_MULTIPART)))
    body, ctype = MALFORMED_MULTIPART[how](draw, sample.data)
    return Case("malformed_multipart", f"{how} ({sample.label})", body, ctype, None, "prebuilt")


def case_empty(draw: Draw, m: Material) -> Case:
    content_type = draw(
        st.sampled_from(
            ["image/jpeg", "application/octet-stream", "multipart/form-data; boundary=x", None]
        )
    )
    envelope = draw(st.sampled_from(["raw", "chunked", "multipart"]))
    return Case(
        "empty_body", f"empty via {envelope} as {content_type}", b"", content_type, None, envelope
    )


def case_over_limit(draw: Draw, m: Material) -> Case:
    how = draw(
        st.sampled_from(
            ["raw", "multipart", "chunked", "declared only", "exactly the limit", "multipart total"]
        )
    )
    extra = draw(st.integers(1, 200_000))
    jpeg = next(s.data for s in m.pool if s.label == "jpeg")
    if how == "exactly the limit":  # a valid JPEG padded with trailing bytes up to the limit
        body = jpeg + bytes(m.max_bytes - len(jpeg))
        return Case(
            "over_byte_limit", "JPEG padded to exactly the limit (accepted)", body, "image/jpeg"
        )
    body = jpeg + bytes(m.max_bytes - len(jpeg) + extra)
    if how == "declared only":
        request = (
            b"POST /v1/scan HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n"
            b"Authorization: Bearer " + m.token.encode() + b"\r\n"
            b"Content-Type: image/jpeg\r\n"
            b"Content-Length: " + str(m.max_bytes + extra).encode() + b"\r\n\r\n" + jpeg[:1000]
        )
        return Case(
            "over_byte_limit", f"Content-Length limit+{extra}, 1000 B sent", raw_request=request
        )
    if how == "multipart total":  # the file is small but other fields push the body over
        filler = part([b'Content-Disposition: form-data; name="pad"'], bytes(m.max_bytes + extra))
        ok = part([FILE_HEADER], jpeg)
        prebuilt = multipart(b"zz", [filler, ok])
        return Case(
            "over_byte_limit",
            f"multipart with a {m.max_bytes + extra} B extra field",
            prebuilt,
            "multipart/form-data; boundary=zz",
            envelope="prebuilt",
        )
    return Case("over_byte_limit", f"{how}, limit+{extra} B", body, "image/jpeg", None, how)


def bad_auth_values(token: str) -> list[str | None]:
    head, prefix, secret = token.split("_", 2)
    return [
        "",
        "Bearer",
        "Bearer ",
        "Basic Zm9vOmJhcg==",
        f"bearer {token}",  # lower-case scheme: accepted
        f"Bearer  {token}",
        f"Bearer {token}x",
        f"Bearer {head}_{prefix}_{secret[::-1]}",
        f"Bearer {head}_{prefix}",
        f"Bearer {head}_{prefix[:-1]}_{secret}",
        f"Bearer {'A' * 8000}",
        f"Bearer {head}_{'é' * len(prefix)}_{secret}",
        "Bearer sw_______",
        "Token abc",
        f"Bearer {token}, Bearer {token}",
        "Bearer \t",
        "Digest username=x",
    ]


def case_bad_auth(draw: Draw, m: Material) -> Case:
    sample = draw(st.sampled_from(m.pool))
    auth = draw(st.sampled_from([*bad_auth_values(m.token), None]))
    if auth is None:
        auth = "Bearer " + draw(
            st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=80)
        )
    case = Case("bad_auth", f"Authorization {auth[:40]!r}", sample.data, sample.content_type, auth)
    if draw(st.booleans()):
        case.extra_headers["x-no-auth"] = "1"  # marker: send no Authorization header at all
        case.label = "no Authorization header"
    return case


def case_raw_http(draw: Draw, m: Material) -> Case:
    jpeg = next(s.data for s in m.pool if s.label == "jpeg")
    auth = b"Authorization: Bearer " + m.token.encode() + b"\r\n"
    start = b"POST /v1/scan HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n" + auth
    how = draw(
        st.sampled_from(
            [
                "hang up mid-body",
                "hang up mid-multipart",
                "Content-Length not a number",
                "negative Content-Length",
                "Content-Length and chunked",
                "bad chunk size",
                "100 KB header",
                "Expect: 100-continue",
                "HTTP/1.0 no Host",
                "garbage request line",
            ]
        )
    )
    hang_up = False
    if how == "hang up mid-body":
        sent = draw(st.integers(0, len(jpeg) - 1))
        request = start + b"Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
        request += jpeg[:sent]
        hang_up = True
    elif how == "hang up mid-multipart":
        body = multipart(b"hb", [part([FILE_HEADER], jpeg)])
        sent = draw(st.integers(0, len(body) - 1))
        request = start + b"Content-Type: multipart/form-data; boundary=hb\r\n"
        request += b"Content-Length: %d\r\n\r\n" % len(body) + body[:sent]
        hang_up = True
    elif how == "Content-Length not a number":
        request = start + b"Content-Type: image/jpeg\r\nContent-Length: 12ab\r\n\r\n" + jpeg[:12]
    elif how == "negative Content-Length":
        request = start + b"Content-Type: image/jpeg\r\nContent-Length: -1\r\n\r\n" + jpeg
    elif how == "Content-Length and chunked":
        chunked = b"%x\r\n" % len(jpeg) + jpeg + b"\r\n0\r\n\r\n"
        request = start + b"Content-Type: image/jpeg\r\nContent-Length: 5\r\n"
        request += b"Transfer-Encoding: chunked\r\n\r\n" + chunked
    elif how == "bad chunk size":
        request = start + b"Content-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n"
        request += b"zz\r\n" + jpeg[:100] + b"\r\n0\r\n\r\n"
    elif how == "100 KB header":
        request = start + b"X-Big: " + b"a" * 100_000 + b"\r\nContent-Type: image/jpeg\r\n"
        request += b"Content-Length: %d\r\n\r\n" % len(jpeg) + jpeg
    elif how == "Expect: 100-continue":
        request = start + b"Expect: 100-continue\r\nContent-Type: image/jpeg\r\n"
        request += b"Content-Length: %d\r\n\r\n" % len(jpeg) + jpeg
    elif how == "HTTP/1.0 no Host":
        request = b"POST /v1/scan HTTP/1.0\r\n" + auth + b"Content-Type: image/jpeg\r\n"
        request += b"Content-Length: %d\r\n\r\n" % len(jpeg) + jpeg
    else:
        request = draw(st.binary(min_size=1, max_size=200)) + b"\r\n\r\n"
    return Case("raw_http", how, raw_request=request, hang_up=hang_up)


BUILDERS: dict[str, Callable[[Draw, Material], Case]] = {
    "random_bytes": case_random_bytes,
    "magic_random": case_magic_random,
    "truncated": case_truncated,
    "corrupted": case_bitflip,
    "valid": case_valid,
    "bomb": case_bomb,
    "wrong_content_type": case_wrong_type,
    "malformed_multipart": case_multipart,
    "empty_body": case_empty,
    "over_byte_limit": case_over_limit,
    "bad_auth": case_bad_auth,
    "raw_http": case_raw_http,
}
#: Relative frequency of each kind (per 50 draws).
WEIGHTS = {
    "random_bytes": 6,
    "magic_random": 3,
    "truncated": 10,
    "corrupted": 8,
    "valid": 4,
    "bomb": 1,
    "wrong_content_type": 3,
    "malformed_multipart": 6,
    "empty_body": 1,
    "over_byte_limit": 1,
    "bad_auth": 3,
    "raw_http": 2,
}
KIND_TABLE = [kind for kind, weight in WEIGHTS.items() for _ in range(weight)]


def cases(m: Material) -> st.SearchStrategy[Case]:
    @st.composite
    def build(draw: Draw) -> Case:
        return BUILDERS[draw(st.sampled_from(KIND_TABLE))](draw, m)

    return build()
