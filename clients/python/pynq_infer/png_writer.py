"""A small PNG encoder in pure Python (PNG spec, all five row filters, every colour type and bit
depth), written independently of image_files' decoder.

The client sends numpy images that are not the model's input size as 8-bit gray PNGs
(``encode_gray_png``), for the daemon to prepare; the tests make every kind of PNG with
``encode_png`` to check the decoder.

    >>> data = encode_gray_png(np.zeros((64, 48), np.uint8))    # bytes of a 48x64 PNG
"""

import struct
import zlib

import numpy as np

__all__ = ["encode_png", "encode_gray_png"]


def _chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter_row(kind, row, previous, bpp):
    if kind == 0:
        return bytes(row)
    out = bytearray(len(row))
    for x, value in enumerate(row):
        a = row[x - bpp] if x >= bpp else 0
        b = previous[x]
        c = previous[x - bpp] if x >= bpp else 0
        predictor = (0, a, b, (a + b) >> 1, _paeth(a, b, c))[kind]
        out[x] = (value - predictor) & 0xFF
    return bytes(out)


def encode_png(samples, color, depth=8, filters=(0,), palette=None, chunks_after=()):
    """PNG bytes of `samples` (numpy [H, W, channels] of ints, each < 2**depth), colour type
    `color`, row filters cycling through `filters`."""
    samples = np.asarray(samples)
    height, width = samples.shape[:2]
    flat = samples.reshape(height, -1)
    rows = []
    for y in range(height):
        if depth == 16:
            rows.append(b"".join(struct.pack(">H", int(v)) for v in flat[y]))
        elif depth == 8:
            rows.append(flat[y].astype(np.uint8).tobytes())
        else:
            bits = "".join(format(int(v), f"0{depth}b") for v in flat[y])
            bits += "0" * (-len(bits) % 8)
            rows.append(bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))
    channels = samples.shape[2] if samples.ndim == 3 else 1
    bpp = max(1, channels * depth // 8)
    raw = bytearray()
    previous = bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind = filters[y % len(filters)]
        raw.append(kind)
        raw += _filter_row(kind, row, previous, bpp)
        previous = row
    body = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0))
    if palette is not None:
        body += _chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    # Image data split over two IDAT chunks, as encoders may.
    packed = zlib.compress(bytes(raw))
    body += _chunk(b"IDAT", packed[:len(packed) // 2]) + _chunk(b"IDAT", packed[len(packed) // 2:])
    for kind, content in chunks_after:
        body += _chunk(kind, content)
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


def encode_gray_png(image):
    """PNG bytes of one numpy uint8 gray image [H, W] (8-bit, no filtering)."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 2 or 0 in image.shape:
        raise ValueError(f"a gray picture is a non-empty numpy uint8 [H, W], not {image.dtype} "
                         f"{list(image.shape)}")
    return encode_png(image[..., np.newaxis], color=0)
