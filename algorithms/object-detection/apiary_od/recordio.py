"""MXNet/dmlc RecordIO framing and the im2rec image-record header.

Record framing (dmlc-core ``recordio.cc``): ``uint32le magic 0xced7230a``, ``uint32le lrec`` (upper 3
bits = continuation flag, lower 29 bits = length), payload, zero padding to 4 bytes. A payload that
contains the magic word at a 4-byte-aligned offset is split there (cflag 1 = first part, 2 = middle,
3 = last); the reader puts the magic word back between parts. We write exactly what dmlc writes so
files round-trip with MXNet's ``im2rec``.

im2rec payload: ``IRHeader`` (``uint32 flag, float32 label, uint64 id, uint64 id2``); when
``flag > 0`` it is followed by ``flag`` float32 labels, then the encoded image bytes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator, Sequence
from typing import BinaryIO

import numpy as np

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_IR_FORMAT = "<IfQQ"
_IR_SIZE = struct.calcsize(_IR_FORMAT)


class RecordIOError(ValueError):
    """The stream is not valid RecordIO."""


def _encode_lrec(cflag: int, length: int) -> bytes:
    return struct.pack("<I", (cflag << 29) | length)


def write_record(stream: BinaryIO, payload: bytes) -> None:
    """Write one record as dmlc's ``RecordIOWriter::WriteRecord`` does."""
    length = len(payload)
    if length >= 1 << 29:
        raise RecordIOError(f"record of {length} bytes is too large for RecordIO (max 2^29 - 1)")
    lower_align = (length >> 2) << 2
    dptr = 0
    for i in range(0, lower_align, 4):
        if payload[i : i + 4] == _MAGIC_BYTES:
            stream.write(_MAGIC_BYTES)
            stream.write(_encode_lrec(1 if dptr == 0 else 2, i - dptr))
            stream.write(payload[dptr:i])
            dptr = i + 4
    rest = payload[dptr:]
    stream.write(_MAGIC_BYTES)
    stream.write(_encode_lrec(3 if dptr != 0 else 0, len(rest)))
    stream.write(rest)
    pad = (-len(rest)) % 4
    if pad:
        stream.write(b"\x00" * pad)


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks = []
    remaining = n
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_records(stream: BinaryIO) -> Iterator[bytes]:
    """Yield the payload of each record until end of stream (works on pipes: reads sequentially)."""
    parts: list[bytes] = []
    while True:
        header = _read_exact(stream, 8)
        if not header:
            if parts:
                raise RecordIOError("RecordIO stream ended inside a multi-part record")
            return
        if len(header) < 8:
            raise RecordIOError("RecordIO stream ended inside a record header")
        magic, lrec = struct.unpack("<II", header)
        if magic != MAGIC:
            raise RecordIOError(f"invalid RecordIO magic 0x{magic:08x} (expected 0x{MAGIC:08x}): the data is not MXNet RecordIO")
        cflag, length = lrec >> 29, lrec & ((1 << 29) - 1)
        body = _read_exact(stream, length + ((-length) % 4))
        if len(body) < length:
            raise RecordIOError("RecordIO stream ended inside a record")
        parts.append(body[:length])
        if cflag in (0, 3):
            yield _MAGIC_BYTES.join(parts)
            parts = []


def read_records_from_bytes(data: bytes) -> list[bytes]:
    return list(read_records(io.BytesIO(data)))


def pack_image_record(labels: Sequence[float], image_bytes: bytes, record_id: int = 0) -> bytes:
    """An im2rec payload: IRHeader with ``flag = len(labels)``, the float32 labels, the image."""
    label_arr = np.asarray(labels, dtype="<f4")
    header = struct.pack(_IR_FORMAT, len(label_arr), 0.0, record_id, 0)
    return header + label_arr.tobytes() + image_bytes


def unpack_image_record(payload: bytes) -> tuple[np.ndarray, bytes]:
    """Return (float32 labels, image bytes) of an im2rec payload."""
    if len(payload) < _IR_SIZE:
        raise RecordIOError("im2rec record shorter than its 24-byte header")
    flag, label, _id, _id2 = struct.unpack(_IR_FORMAT, payload[:_IR_SIZE])
    if flag == 0:
        return np.asarray([label], dtype=np.float32), payload[_IR_SIZE:]
    end = _IR_SIZE + 4 * flag
    if len(payload) < end:
        raise RecordIOError(f"im2rec record declares {flag} labels but is too short")
    labels = np.frombuffer(payload[_IR_SIZE:end], dtype="<f4").astype(np.float32)
    return labels, payload[end:]


def detection_label(boxes_norm: np.ndarray, classes: np.ndarray) -> list[float]:
    """im2rec detection label: ``[header_len=2, obj_width=5, (cls, xmin, ymin, xmax, ymax)...]``."""
    out: list[float] = [2.0, 5.0]
    for c, b in zip(classes, boxes_norm):
        out.extend([float(c), *map(float, b)])
    return out


def parse_detection_label(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`detection_label`; rows with a negative class id (padding) are dropped.

    Returns (classes int64 [K], normalised boxes float32 [K, 4]).
    """
    if labels.size < 2:
        raise RecordIOError("detection label needs at least [header_len, object_width]")
    header_len, obj_width = int(labels[0]), int(labels[1])
    if header_len < 2 or obj_width < 5:
        raise RecordIOError(
            f"detection label header_len={header_len}, object_width={obj_width}: expected header_len >= 2 and object_width >= 5"
        )
    body = labels[header_len:]
    n = body.size // obj_width
    rows = body[: n * obj_width].reshape(n, obj_width)
    rows = rows[rows[:, 0] >= 0]
    return rows[:, 0].astype(np.int64), rows[:, 1:5].astype(np.float32)
