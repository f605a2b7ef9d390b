"""Real files for the checker's tests, made with Pillow: photos with GPS and serial metadata."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin

SERIAL = "CAM-SERIAL-4417"
# EXIF tags: camera body serial number, and the GPS block.
BODY_SERIAL_TAG = 0xA431
GPS_IFD_TAG = 0x8825
GPS_LATITUDE_TAG = 2


def photo(size: tuple[int, int] = (64, 48)) -> Image.Image:
    return Image.linear_gradient("L").resize(size).convert("RGB")


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[BODY_SERIAL_TAG] = SERIAL
    exif.get_ifd(GPS_IFD_TAG).update(
        {1: "N", GPS_LATITUDE_TAG: (53.0, 48.0, 1.0), 3: "W", 4: (1.0, 32.0, 5.0)}
    )
    buffer = io.BytesIO()
    photo().save(buffer, "JPEG", exif=exif.tobytes(), comment=b"taken at 12 Acacia Avenue")
    return buffer.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 12 Acacia Avenue")
    info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{SERIAL}</x:xmpmeta>")
    buffer = io.BytesIO()
    photo().save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def pdf() -> bytes:
    buffer = io.BytesIO()
    photo().save(buffer, "PDF")
    return buffer.getvalue()


# The start of a Windows executable and of a Linux one: what a renamed program looks like.
WINDOWS_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)
LINUX_EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + bytes(200)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every pixel: fails on a damaged file
    return image
