"""Image files as numpy arrays, decoded with the standard library only (gzip, zlib, struct).

The formats and conversions are those of the C++ client (clients/image_io.h), recognised by
content, not by name, gzipped or not:

- IDX uint8 ``[N, H, W]`` (MNIST's ``*-images-idx3-ubyte``): all N images;
- binary PGM (``P5``, maxval 255): one image;
- PNG, any colour type and bit depth, not interlaced: one image as 8-bit gray. 8-bit gray is
  taken pixel for pixel; a palette is expanded, alpha is dropped, colour is weighted with
  Rec. 709's integer weights (6968, 23434, 2366) / 32768 at the sample depth (8-bit sums
  truncated, 16-bit ones rounded), and 16-bit samples are then rounded to 8 bits: what libpng
  does with the C++ client's transforms for files without gAMA/cHRM chunks.

    >>> images = read_image_file("digit.png")     # numpy uint8 [1, 28, 28]
    >>> labels = read_idx("t10k-labels-idx1-ubyte.gz")

Every function raises ``ValueError`` naming the file for a malformed or unsupported file, and
``OSError`` when it cannot be read.
"""

import gzip
import struct
import zlib

import numpy as np

__all__ = ["read_image_file", "read_idx", "decode_image", "read_file", "is_idx"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# libpng's default Rec. 709 weights for png_set_rgb_to_gray_fixed(), out of 32768.
_RGB_TO_GRAY = (6968, 23434, 2366)


def read_file(path):
    """The bytes of the file at ``path``, gunzipped if they are gzip data."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: broken gzip data: {e}") from None
    return data


def read_idx(path):
    """The IDX file at ``path`` (gzipped or not) as a numpy array of its shape and type."""
    return _decode_idx(read_file(path), str(path))


def read_image_file(path):
    """The images in ``path`` as numpy uint8 ``[N, H, W]`` (N = 1 for PGM and PNG)."""
    return decode_image(read_file(path), str(path))


def is_idx(data):
    """Whether ``data`` starts like an IDX file of uint8 images [N, H, W]."""
    return data[:4] == b"\x00\x00\x08\x03"


def decode_image(data, name="image"):
    """Like read_image_file(), for the bytes of a file; ``name`` is used in messages."""
    if data[:8] == _PNG_SIGNATURE:
        return _decode_png(data, name)[np.newaxis]
    if data[:2] == b"P5":
        return _decode_pgm(data, name)[np.newaxis]
    if is_idx(data):
        return _decode_idx(data, name)
    raise ValueError(
        f"{name}: not an image file this client reads (IDX uint8 [N, H, W], binary PGM or PNG)")


def _decode_idx(data, name):
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{name}: not an IDX file (bad magic)")
    dims = data[3]
    header = 4 + 4 * dims
    if dims == 0 or len(data) < header:
        raise ValueError(f"{name}: IDX header with {dims} dimensions is truncated")
    shape = struct.unpack(f">{dims}I", data[4:header])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"{name}: IDX {list(shape)} of {dtype} needs {expected} data bytes, "
                         f"the file has {len(data) - header}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _decode_pgm(data, name):
    # Header: "P5", then width, height and maxval, each after whitespace or comments; exactly one
    # whitespace byte separates maxval from the pixels.
    fields = []
    at = 2
    while len(fields) < 3:
        while at < len(data) and (data[at:at + 1].isspace() or data[at:at + 1] == b"#"):
            if data[at:at + 1] == b"#":
                while at < len(data) and data[at:at + 1] != b"\n":
                    at += 1
            else:
                at += 1
        start = at
        while at < len(data) and data[at:at + 1].isdigit():
            at += 1
        if start == at:
            raise ValueError(f"{name}: PGM header lacks its "
                             f"{('width', 'height', 'maxval')[len(fields)]}")
        fields.append(int(data[start:at]))
    width, height, maxval = fields
    if maxval != 255:
        raise ValueError(f"{name}: PGM maxval {maxval} is not supported, expected 255 (8-bit pixels)")
    if at >= len(data) or not data[at:at + 1].isspace():
        raise ValueError(f"{name}: PGM header does not end in whitespace")
    pixels = data[at + 1:]
    if len(pixels) != width * height:
        raise ValueError(f"{name}: PGM {width}x{height} needs {width * height} pixel bytes, "
                         f"the file has {len(pixels)}")
    return np.frombuffer(pixels, dtype=np.uint8).reshape(height, width).copy()


def _png_chunks(data, name):
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if len(body) != length or at + 12 + length > len(data):
            raise ValueError(f"{name}: truncated PNG (chunk {kind!r})")
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"{name}: invalid PNG: bad CRC in chunk {kind!r}")
        yield kind, body
        if kind == b"IEND":
            return
        at += 12 + length
    raise ValueError(f"{name}: truncated PNG (no IEND chunk)")


def _unfilter(raw, height, stride, bpp, name):
    """PNG's five row filters undone (PNG spec section 9), rows of ``stride`` bytes."""
    if len(raw) != height * (stride + 1):
        raise ValueError(f"{name}: invalid PNG: {len(raw)} bytes of image data, expected "
                         f"{height * (stride + 1)}")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = rows[y, 0]
        line = rows[y, 1:].astype(np.int32)
        if kind == 0:
            current = line
        elif kind == 2:
            current = (line + previous) & 0xFF
        elif kind in (1, 3, 4):
            # Sub, Average and Paeth depend on the reconstructed byte bpp to the left: a loop.
            current = np.zeros(stride, dtype=np.int32)
            for x in range(stride):
                left = current[x - bpp] if x >= bpp else 0
                up = previous[x]
                if kind == 1:
                    predictor = left
                elif kind == 3:
                    predictor = (left + up) >> 1
                else:
                    upper_left = previous[x - bpp] if x >= bpp else 0
                    p = left + up - upper_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                    predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                current[x] = (line[x] + predictor) & 0xFF
        else:
            raise ValueError(f"{name}: invalid PNG: unknown filter type {kind} in row {y}")
        out[y] = current
        previous = current
    return out


def _decode_png(data, name):
    chunks = list(_png_chunks(data, name))
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise ValueError(f"{name}: invalid PNG: no IHDR chunk first")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color)
    if channels is None or depth not in (1, 2, 4, 8, 16) or width == 0 or height == 0:
        raise ValueError(f"{name}: invalid PNG: colour type {color}, bit depth {depth}, "
                         f"{width}x{height}")
    if interlace != 0:
        raise ValueError(f"{name}: interlaced PNG is not supported by this client; save it "
                         "without interlacing")
    palette = b"".join(body for kind, body in chunks if kind == b"PLTE")
    try:
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    except zlib.error as e:
        raise ValueError(f"{name}: invalid PNG: image data does not inflate: {e}") from None
    bits_per_pixel = channels * depth
    stride = (width * bits_per_pixel + 7) // 8
    rows = _unfilter(raw, height, stride, max(1, bits_per_pixel // 8), name)
    if depth < 8:
        samples = np.unpackbits(rows, axis=1).reshape(height, stride * 8 // depth, depth)
        weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint32)
        samples = (samples * weights).sum(axis=2)[:, :width].astype(np.uint32)
        if color == 0:
            samples = samples * (255 // ((1 << depth) - 1))  # 1, 2, 4 bits expanded to 8
    elif depth == 8:
        samples = rows.reshape(height, width * channels).astype(np.uint32)
    else:
        wide = rows.reshape(height, width * channels, 2).astype(np.uint32)
        samples = wide[..., 0] << 8 | wide[..., 1]
    if color == 3:
        if len(palette) == 0 or len(palette) % 3 != 0:
            raise ValueError(f"{name}: invalid PNG: palette image without a PLTE chunk")
        table = np.frombuffer(palette, dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
        if samples.max() >= len(table):
            raise ValueError(f"{name}: invalid PNG: palette index beyond the {len(table)} entries")
        pixels = table[samples]  # [H, W, 3]
    else:
        pixels = samples.reshape(height, width, channels)
        if color in (4, 6):
            pixels = pixels[..., :-1]  # alpha dropped
    if pixels.shape[-1] == 3:
        # libpng converts at the sample depth: 8-bit sums are truncated, 16-bit ones rounded.
        r, g, b = _RGB_TO_GRAY
        weighted = r * pixels[..., 0] + g * pixels[..., 1] + b * pixels[..., 2]
        gray = (weighted + (16384 if depth == 16 else 0)) >> 15
    else:
        gray = pixels[..., 0]
    if depth == 16:
        # libpng's png_set_scale_16: the nearest 8-bit value.
        gray = (gray * 255 + 32895) >> 16
    return gray.astype(np.uint8)
