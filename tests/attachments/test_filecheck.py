"""The checker's rules on bytes alone: the real type by magic bytes, damage, and metadata stripped."""

from __future__ import annotations

import pytest
from chalicelib.intake.filecheck import HEIC, JPEG, PDF, PNG, Refused, check, real_type

from tests.attachments import files


def test_a_jpeg_loses_its_gps_serial_and_comment_but_keeps_its_picture() -> None:
    original = files.jpeg_with_gps()
    assert files.opened(original).getexif().get_ifd(files.GPS_IFD_TAG)  # the test file has a position
    assert files.SERIAL.encode() in original
    cleaned = check(original, JPEG)
    image = files.opened(cleaned.body)
    assert cleaned.content_type == JPEG
    assert not image.getexif()
    assert "comment" not in image.info
    assert files.SERIAL.encode() not in cleaned.body and b"Acacia" not in cleaned.body
    assert image.size == files.opened(original).size
    assert image.tobytes() == files.opened(original).tobytes()  # not re-encoded


def test_a_png_loses_its_text_chunks_but_keeps_its_picture() -> None:
    original = files.png_with_text()
    assert b"Acacia" in original
    cleaned = check(original, PNG).body
    assert b"Acacia" not in cleaned and files.SERIAL.encode() not in cleaned
    assert files.opened(cleaned).tobytes() == files.opened(original).tobytes()


def test_a_png_renamed_pdf_is_refused() -> None:
    with pytest.raises(Refused, match="declared application/pdf but is image/png"):
        check(files.png_with_text(), PDF)


@pytest.mark.parametrize("program", [files.WINDOWS_EXECUTABLE, files.LINUX_EXECUTABLE])
def test_an_executable_renamed_jpg_is_refused(program: bytes) -> None:
    assert real_type(program) is None
    with pytest.raises(Refused, match="not a JPEG"):
        check(program, JPEG)


@pytest.mark.parametrize(("make", "declared"), [
    (files.jpeg_with_gps, JPEG), (files.png_with_text, PNG), (files.pdf, PDF),
])
def test_a_truncated_file_is_refused(make: object, declared: str) -> None:
    whole = make()  # type: ignore[operator]
    assert check(whole, declared).body  # the whole file passes
    with pytest.raises(Refused, match="truncated|damaged"):
        check(whole[: len(whole) * 2 // 3], declared)


def test_a_pdf_is_kept_as_it_is() -> None:
    document = files.pdf()
    assert check(document, PDF).body == document


def heif_with_exif(exif: bytes, *, brand: bytes = b"heic") -> bytes:
    """A minimal ISO-BMFF file: ftyp, a meta box listing one Exif item, and mdat holding it."""
    def box(kind: bytes, body: bytes) -> bytes:
        return (8 + len(body)).to_bytes(4, "big") + kind + body

    def full(kind: bytes, version: int, body: bytes) -> bytes:
        return box(kind, bytes([version, 0, 0, 0]) + body)

    ftyp = box(b"ftyp", brand + bytes(4) + b"mif1" + brand)
    infe = full(b"infe", 2, (1).to_bytes(2, "big") + bytes(2) + b"Exif" + b"\x00")
    iinf = full(b"iinf", 0, (1).to_bytes(2, "big") + infe)

    def meta(offset: int) -> bytes:
        # offset_size 4, length_size 4, base_offset_size 0; one item, one extent
        iloc = full(b"iloc", 0, bytes([0x44, 0x00]) + (1).to_bytes(2, "big") + (1).to_bytes(2, "big")
                    + bytes(2) + (1).to_bytes(2, "big") + offset.to_bytes(4, "big")
                    + len(exif).to_bytes(4, "big"))
        return full(b"meta", 0, iinf + iloc)

    head = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(head) + box(b"mdat", exif)


def test_a_heic_photo_has_its_exif_item_blanked() -> None:
    exif = b"Exif\x00\x00GPS 53N 1W " + files.SERIAL.encode()
    original = heif_with_exif(exif)
    cleaned = check(original, HEIC)
    assert files.SERIAL.encode() not in cleaned.body and b"GPS" not in cleaned.body
    assert len(cleaned.body) == len(original)
    with pytest.raises(Refused, match="truncated"):
        check(original[:-4], HEIC)
