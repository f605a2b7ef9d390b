"""What a file really is, by its magic bytes and structure, and the same photo without its metadata.

Pure: bytes in, a verdict and cleaned bytes out. Photos lose the segments
and chunks that carry EXIF (GPS position, device serials, times), XMP, IPTC
and comments; what draws the picture (and its colour profile) is kept.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

JPEG = "image/jpeg"
PNG = "image/png"
HEIC = "image/heic"
HEIF = "image/heif"
PDF = "application/pdf"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG segments kept: APP0 (JFIF), APP2 (ICC colour profile), APP14 (Adobe colour
# transform): without the last two colours change. Every other APPn and COM goes.
JPEG_KEPT_APPS = {0xE0, 0xE2, 0xEE}
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length
PNG_METADATA_CHUNKS = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
HEIF_BRANDS = {b"mif1", b"msf1"}
PDF_TAIL = 1024  # "%%EOF" must be in the file's last KB


class Refused(Exception):
    """The file is not what it says, or is damaged; `reason` is for staff, with no content in it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    body: bytes
    stripped: bool


def real_type(data: bytes) -> str | None:
    """The type the magic bytes say, or None for anything we do not take."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(PNG_SIGNATURE):
        return PNG
    if data.startswith(b"%PDF-"):
        return PDF
    if len(data) >= 12 and data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in HEIC_BRANDS:
            return HEIC
        if brand in HEIF_BRANDS:
            return HEIF
    return None


def same_family(declared: str, found: str) -> bool:
    """HEIC is HEIF with HEVC inside; browsers report either for the same photo."""
    photos = {HEIC, HEIF}
    return declared == found or (declared in photos and found in photos)


def check(data: bytes, declared: str) -> CheckedFile:
    """The file as it may be kept, or Refused saying why (wrong type, damaged, truncated)."""
    found = real_type(data)
    if found is None:
        raise Refused("not a JPEG, PNG, HEIC/HEIF or PDF file")
    if not same_family(declared, found):
        raise Refused(f"declared {declared} but is {found}")
    if found == JPEG:
        return CheckedFile(JPEG, strip_jpeg(data), True)
    if found == PNG:
        return CheckedFile(PNG, strip_png(data), True)
    if found == PDF:
        if b"%%EOF" not in data[-PDF_TAIL:]:
            raise Refused("truncated PDF (no end-of-file marker)")
        return CheckedFile(PDF, data, False)
    return CheckedFile(declared, blank_heif_metadata(data), True)


def strip_jpeg(data: bytes) -> bytes:
    """The JPEG without APP1 (EXIF, XMP), APP13 (IPTC) and other metadata segments or comments."""
    kept = bytearray(data[:2])
    at = 2
    while True:
        if at + 4 > len(data) or data[at] != 0xFF:
            raise Refused("damaged JPEG (segment structure)")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in JPEG_STANDALONE:
            kept += data[at:at + 2]
            at += 2
            continue
        if marker == 0xD9:
            raise Refused("damaged JPEG (ends before its image data)")
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        end = at + 2 + length
        if length < 2 or end > len(data):
            raise Refused("truncated JPEG")
        if marker == 0xDA:  # start of scan: the image data follows, to the end marker
            rest = data[at:]
            if not rest.rstrip(b"\x00").endswith(b"\xff\xd9"):
                raise Refused("truncated JPEG (no end-of-image marker)")
            kept += rest
            return bytes(kept)
        if not (0xE0 <= marker <= 0xEF and marker not in JPEG_KEPT_APPS) and marker != 0xFE:
            kept += data[at:end]
        at = end


def strip_png(data: bytes) -> bytes:
    """The PNG without its text, EXIF and time chunks; every chunk's checksum is verified."""
    kept = bytearray(PNG_SIGNATURE)
    at = len(PNG_SIGNATURE)
    while True:
        if at + 12 > len(data):
            raise Refused("truncated PNG")
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        end = at + 12 + length
        if end > len(data):
            raise Refused("truncated PNG")
        crc = struct.unpack(">I", data[end - 4:end])[0]
        if zlib.crc32(data[at + 4:end - 4]) != crc:
            raise Refused("damaged PNG (checksum)")
        if kind not in PNG_METADATA_CHUNKS:
            kept += data[at:end]
        at = end
        if kind == b"IEND":
            return bytes(kept)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, body start, box end) of each ISO-BMFF box in data[start:end]; Refused if they do not fit."""
    boxes = []
    at = start
    while at < end:
        if at + 8 > end:
            raise Refused("truncated HEIF")
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        body = at + 8
        if size == 1:
            if at + 16 > end:
                raise Refused("truncated HEIF")
            size = struct.unpack(">Q", data[at + 8:at + 16])[0]
            body = at + 16
        elif size == 0:
            size = end - at
        if size < body - at or at + size > end:
            raise Refused("truncated HEIF")
        boxes.append((kind, body, at + size))
        at += size
    return boxes


def blank_heif_metadata(data: bytes) -> bytes:
    """The HEIF with its Exif and XMP items' bytes overwritten with zeros.

    The items stay listed (so the file's structure is unchanged and every reader
    still opens it), but what they held is gone.
    """
    top = _boxes(data, 0, len(data))
    meta = next(((body, end) for kind, body, end in top if kind == b"meta"), None)
    if meta is None:
        return data
    children = {kind: (body, end) for kind, body, end in _boxes(data, meta[0] + 4, meta[1])}
    metadata_items = _metadata_item_ids(data, children.get(b"iinf"))
    if not metadata_items or b"iloc" not in children:
        return data
    cleaned = bytearray(data)
    for offset, length in _item_extents(data, children[b"iloc"], metadata_items):
        if offset + length > len(data):
            raise Refused("truncated HEIF")
        cleaned[offset:offset + length] = bytes(length)
    return bytes(cleaned)


def _metadata_item_ids(data: bytes, iinf: tuple[int, int] | None) -> set[int]:
    if iinf is None:
        return set()
    body, end = iinf
    version = data[body]
    first = body + 4 + (2 if version == 0 else 4)
    found = set()
    for kind, entry, _ in _boxes(data, first, end):
        if kind != b"infe" or data[entry] < 2:
            continue
        wide = data[entry] >= 3
        at = entry + 4
        item_id = struct.unpack(">I" if wide else ">H", data[at:at + (4 if wide else 2)])[0]
        at += (4 if wide else 2) + 2
        item_type = data[at:at + 4]
        if item_type == b"Exif" or item_type == b"mime":  # mime items carry XMP
            found.add(item_id)
    return found


def _item_extents(data: bytes, iloc: tuple[int, int], wanted: set[int]) -> list[tuple[int, int]]:
    body, end = iloc
    version = data[body]
    at = body + 4
    sizes = data[at] << 8 | data[at + 1]
    offset_size, length_size = sizes >> 12, (sizes >> 8) & 0xF
    base_size, index_size = (sizes >> 4) & 0xF, sizes & 0xF
    at += 2
    count_size = 2 if version < 2 else 4
    count = _number(data, at, count_size)
    at += count_size
    extents = []
    for _ in range(count):
        item_id = _number(data, at, count_size)
        at += count_size
        method = 0
        if version in (1, 2):
            method = _number(data, at, 2) & 0xF
            at += 2
        at += 2  # data reference index
        base = _number(data, at, base_size)
        at += base_size
        extent_count = _number(data, at, 2)
        at += 2
        for _ in range(extent_count):
            if version in (1, 2) and index_size:
                at += index_size
            offset = _number(data, at, offset_size)
            at += offset_size
            length = _number(data, at, length_size)
            at += length_size
            if item_id in wanted and method == 0:
                extents.append((base + offset, length))
        if at > end:
            raise Refused("damaged HEIF (item locations)")
    return extents


def _number(data: bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at:at + size], "big") if size else 0
