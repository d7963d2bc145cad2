"""Firmware images: checked, stored as files named by their SHA-256, and read back a byte range at a time.

The bytes live under FIRMWARE_DIR (instance/firmware/ when empty), not in
the database: an image is megabytes, read by devices in ranges, and the
same bytes uploaded twice are one file. A row records who uploaded what
(title, version, size, SHA-256).
"""
import hashlib
import os
import tempfile

from flask import current_app

from webapp.core.clock import now_ms
from webapp.core.errors import InvalidRequest, PayloadTooLarge
from webapp.extensions import db
from webapp.models import FirmwareImage
from webapp.services import ownership

# The first byte of every ESP32 app image (esp_image_format.h: ESP_IMAGE_HEADER_MAGIC).
ESP_IMAGE_MAGIC = 0xE9
# An image header and one segment header: anything shorter is no app image.
MIN_IMAGE_BYTES = 24 + 8
READ_CHUNK = 64 * 1024


def firmware_dir():
    return current_app.config["FIRMWARE_DIR"] or os.path.join(current_app.instance_path, "firmware")


def store_image(owner, stream, title, version):
    """Check and keep an uploaded image (`stream`: its bytes); its new FirmwareImage row.

    InvalidRequest when it is not an ESP32 app image, PayloadTooLarge past FIRMWARE_MAX_BYTES.
    """
    limit = current_app.config["FIRMWARE_MAX_BYTES"]
    directory = firmware_dir()
    os.makedirs(directory, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    # Written beside its final place, then renamed: a reader never sees half a file.
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".upload-", delete=False) as partial:
        try:
            while chunk := stream.read(READ_CHUNK):
                if size == 0 and chunk[0] != ESP_IMAGE_MAGIC:
                    raise InvalidRequest(f"Not an ESP32 app image: it begins with 0x{chunk[0]:02X}, an app image with 0x{ESP_IMAGE_MAGIC:02X}.")
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"The image is larger than FIRMWARE_MAX_BYTES ({limit} bytes).")
                digest.update(chunk)
                partial.write(chunk)
            if size < MIN_IMAGE_BYTES:
                raise InvalidRequest(f"Not an ESP32 app image: {size} bytes is shorter than an image header.")
        except BaseException:
            partial.close()
            os.unlink(partial.name)
            raise
    sha256 = digest.hexdigest()
    os.replace(partial.name, image_path(sha256))
    image = FirmwareImage(owner_id=owner.id, title=title, version=version, size=size, sha256=sha256, created_ms=now_ms())
    db.session.add(image)
    db.session.commit()
    return image


def image_path(sha256):
    return os.path.join(firmware_dir(), sha256)


def visible_images(user):
    """The images `user` may send, newest first."""
    return ownership.visible_rows(user, FirmwareImage, FirmwareImage.id.desc())


def visible_image(user, firmware_id):
    return ownership.visible_row(user, FirmwareImage, firmware_id, f"No firmware image {firmware_id}.")


def read_range(sha256, start, length):
    """The image's bytes from `start`, `length` of them, as chunks read while they are sent."""
    # Found now: the chunks are read after the request's context has gone.
    return _chunks(image_path(sha256), start, length)


def _chunks(path, start, length):
    with open(path, "rb") as image:
        image.seek(start)
        while length > 0:
            chunk = image.read(min(READ_CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
