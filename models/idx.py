"""Reads and writes IDX files, the format the MNIST data set is distributed in.

An IDX file is a 4-byte magic `00 00 TT DD` (TT = element type, DD = number of dimensions), then DD
big-endian u32 dimension sizes, then the elements in row-major order, each multi-byte element
big-endian. This module supports the two element types the project uses:

  0x08  uint8   images and labels (`*.idx3-ubyte`, `*.idx1-ubyte`)
  0x0C  int32   class scores (`*.idx2-int`), e.g. the golden scores of a model

read() also accepts gzipped files (recognised by the gzip magic 1F 8B, not by the name), the form
Debian's dataset-fashion-mnist ships.

Example:
    images = idx.read("models/data/mnist-heldout-images.idx3-ubyte")   # uint8 array [2000, 28, 28]
    fashion = idx.read("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
    idx.write("scores.idx2-int", scores.astype(numpy.int32))
"""

import gzip
import struct

import numpy as np

# IDX element type code -> numpy dtype, as stored in the file (big-endian).
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x0C: np.dtype(">i4"),
}
_TYPE_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}


def encode(array):
    """Returns the IDX bytes of `array` (numpy, dtype uint8 or int32, at least one dimension)."""
    array = np.asarray(array)
    code = _TYPE_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX: dtype {array.dtype} is not supported; expected uint8 or int32")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX: {array.ndim} dimensions; expected 1..255")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(_DTYPES[code], copy=False).tobytes(order="C")


def decode(data, source="IDX data"):
    """Parses IDX bytes; returns a numpy array in native byte order (uint8 or int32).

    Raises ValueError naming `source` if the magic, the element type or the length is wrong.
    """
    if len(data) < 4:
        raise ValueError(f"{source}: {len(data)} bytes, shorter than the 4-byte IDX magic")
    zero0, zero1, code, ndim = data[:4]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{source}: magic starts with {data[:2].hex()}; expected 0000")
    if code not in _DTYPES:
        raise ValueError(f"{source}: element type 0x{code:02X} is not supported; "
                         f"expected 0x08 or 0x0C")
    if ndim == 0:
        raise ValueError(f"{source}: 0 dimensions; expected at least 1")
    header_bytes = 4 + 4 * ndim
    if len(data) < header_bytes:
        raise ValueError(f"{source}: {len(data)} bytes, shorter than its "
                         f"{header_bytes}-byte header")
    shape = struct.unpack_from(f">{ndim}I", data, 4)
    dtype = _DTYPES[code]
    expected = header_bytes + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{source}: {len(data)} bytes; shape {list(shape)} of {dtype.name} "
                         f"needs {expected}")
    array = np.frombuffer(data, dtype=dtype, offset=header_bytes).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


_GZIP_MAGIC = b"\x1f\x8b"


def read(path):
    """Reads the IDX file at `path`, gzipped or not; see decode()."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(_GZIP_MAGIC):
        data = gzip.decompress(data)
    return decode(data, source=str(path))


def write(path, array):
    """Writes `array` to `path` as an IDX file; see encode()."""
    with open(path, "wb") as f:
        f.write(encode(array))
