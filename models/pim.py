"""Writes and reads pynq-infer model files (`*.pim`), format v2 (v1 is still read) / engine ABI v1.

accel/model/MODEL_FORMAT.md is the specification; this module follows it field by field and is the Python
counterpart of the C++ loader (accel/model/model.h). read()/decode() validate everything the page says and
raise a ModelFormatError (a ValueError) whose subclass mirrors the C++ loader's absl code:

  DataLossError          kDataLoss          truncated file, section past the end, CRC mismatch
  InvalidModelError      kInvalidArgument   wrong magic, any inconsistent field
  UnsupportedModelError  kUnimplemented     unsupported format/ABI version or op

write()/encode() validate the bytes they produce with the same code, so they never emit a file the
loader would reject. The ops themselves (constructors, per-op rules) are in pim_layers.py; this
module re-exports them, so `pim.int8_dense(...)` and `pim.OP_MAXPOOL` work.

Example:
    model = pim.Model(name="tiny", version="1.0.0", description="", input_shape=(1, 2, 2),
                      labels=["a", "b"],
                      layers=[pim.input_binarize((1, 2, 2), threshold=128),
                              pim.bnn_dense_scores(weight_bits, biases)],
                      preprocess=pim.Preprocess())  # none: raw tensors only (the default)
    pim.write("tiny.pim", model)
    assert pim.read("tiny.pim") == model
"""

import dataclasses
import re
import struct
import zlib

import numpy as np

# Re-exported: the ops are part of this module's interface.
from pim_layers import (  # noqa: F401
    INPUT_OPS, MAX_MULTIPLIER, MAX_PARAM_MAGNITUDE, MAX_SHIFT, MAX_VECTOR, OP_BNN_DENSE,
    OP_BNN_DENSE_SCORES, OP_INPUT_BINARIZE, OP_INPUT_QUANTIZE, OP_INT8_CONV, OP_INT8_DENSE,
    OP_INT8_DENSE_SCORES, OP_MAXPOOL, OP_NAMES, SCORES_OPS, DataLossError, InvalidModelError,
    Layer, ModelFormatError, UnsupportedModelError, bnn_dense, bnn_dense_scores, input_binarize,
    input_quantize, int8_conv, int8_dense, int8_dense_scores, maxpool, pack_bits, unpack_bits,
    words_per_row)
from pim_layers import check_chain, check_layer
from pim_layers import expect as _expect

MAGIC = b"PYNQMDL\0"
FORMAT_VERSION = 2  # Written; read: OLDEST_FORMAT_VERSION..FORMAT_VERSION.
OLDEST_FORMAT_VERSION = 1
ENGINE_ABI_VERSION = 1
HEADER_BYTES = 64
ALIGNMENT = 64  # Of WEIGHTS in the file and of every blob inside WEIGHTS.
CRC_BYTES = 4

PROGRAM_HEADER_BYTES = 16
LAYER_BYTES = 64
MAX_LAYERS = 16

# Header: magic, format_version, engine_abi_version, header_bytes, file_bytes, meta_offset,
# meta_bytes, program_offset, program_bytes, weights_offset, weights_bytes, reserved[5].
_HEADER = struct.Struct("<8sHHIIIIIIII5I")
# Layer descriptor: op, flags, in_c, in_h, in_w, out_c, out_h, out_w, weights_offset, weights_bytes,
# params_offset, params_bytes, arg[3], reserved.
_LAYER = struct.Struct("<12I3iI")
assert _HEADER.size == HEADER_BYTES and _LAYER.size == LAYER_BYTES

_NAME_RE = re.compile(rb"[a-z0-9._-]{1,64}")
_VERSION_RE = re.compile(rb"[\x21-\x7e]{1,32}")  # Printable ASCII, no spaces.


# Input preprocessing (MODEL_FORMAT.md "Input preprocessing"): how a picture becomes the input.
PREPROCESS_NONE, PREPROCESS_CROP_FIT = 0, 1
PLACEMENT_BOX_CENTRE, PLACEMENT_CENTRE_OF_MASS = 0, 1
LEVELS_KEEP, LEVELS_STRETCH = 0, 1
FOREGROUND_LIGHT_ON_DARK, FOREGROUND_DARK_ON_LIGHT = 0, 1
_PREPROCESS = struct.Struct("<6I")


@dataclasses.dataclass(frozen=True)
class Preprocess:
    """The META preprocessing record; the default, none, is what a format v1 file means."""
    method: int = PREPROCESS_NONE
    box_height: int = 0
    box_width: int = 0
    placement: int = PLACEMENT_BOX_CENTRE
    levels: int = LEVELS_KEEP
    foreground: int = FOREGROUND_LIGHT_ON_DARK


# MNIST's own recipe: the digit's bounding box scaled to fit 20x20, placed by its centre of mass.
MNIST_PREPROCESS = Preprocess(method=PREPROCESS_CROP_FIT, box_height=20, box_width=20,
                              placement=PLACEMENT_CENTRE_OF_MASS, levels=LEVELS_STRETCH)
# Fashion-MNIST's: the product trimmed, its longer side scaled to 28, centred, negated.
FASHION_PREPROCESS = Preprocess(method=PREPROCESS_CROP_FIT, box_height=28, box_width=28)


@dataclasses.dataclass
class Model:
    name: str
    version: str
    description: str
    input_shape: tuple  # (channels, height, width) of the uint8 input image.
    labels: list
    layers: list
    preprocess: Preprocess = Preprocess()

    @property
    def num_classes(self):
        return len(self.labels)


# ---------------------------------------------------------------------------------------------
# Writing.


def _align(n):
    return -(-n // ALIGNMENT) * ALIGNMENT


def _str(value, what):
    data = value.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError(f"{what} is {len(data)} bytes; a str holds at most 65535")
    return struct.pack("<H", len(data)) + data


def _encode_meta(model):
    c, h, w = model.input_shape
    return b"".join([
        _str(model.name, "name"), _str(model.version, "version"),
        _str(model.description, "description"),
        struct.pack("<4I", c, h, w, model.num_classes),
        *(_str(label, f"labels[{i}]") for i, label in enumerate(model.labels)),
        _PREPROCESS.pack(*dataclasses.astuple(model.preprocess)),
    ])


def encode(model):
    """Returns the bytes of `model` as a v2 file, validated as decode() does."""
    # WEIGHTS: each non-empty blob at the next 64-byte boundary, in layer order, weights first.
    weights = bytearray()
    placements = []  # Per layer: (weights_offset, weights_bytes, params_offset, params_bytes).
    for layer in model.layers:
        placement = []
        for blob in (layer.weights, layer.params):
            offset = len(weights) if blob else 0
            weights += blob
            weights += bytes(_align(len(weights)) - len(weights))
            placement += [offset, len(blob)]
        placements.append(placement)

    program = struct.pack("<4I", len(model.layers), 0, 0, 0) + b"".join(
        _LAYER.pack(layer.op, 0, *layer.in_shape, *layer.out_shape, *placement, *layer.args, 0)
        for layer, placement in zip(model.layers, placements))

    meta = _encode_meta(model)
    meta_offset = HEADER_BYTES
    program_offset = meta_offset + len(meta)
    weights_offset = _align(program_offset + len(program))
    file_bytes = weights_offset + len(weights) + CRC_BYTES
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, ENGINE_ABI_VERSION, HEADER_BYTES, file_bytes,
                          meta_offset, len(meta), program_offset, len(program), weights_offset,
                          len(weights), 0, 0, 0, 0, 0)
    body = header + meta + program + bytes(weights_offset - program_offset - len(program)) + weights
    data = body + struct.pack("<I", zlib.crc32(body))
    decode(data)
    return data


def write(path, model):
    """Writes `model` to `path`; see encode()."""
    data = encode(model)
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------------------------
# Reading and validation.


def read(path):
    """Reads and validates the model file at `path`; see decode()."""
    with open(path, "rb") as f:
        return decode(f.read())


def decode(data):
    """Parses and validates a v1 or v2 model file; returns a Model or raises a ModelFormatError."""
    data = bytes(data)
    header = _decode_header(data)
    meta = data[header["meta_offset"]:header["meta_offset"] + header["meta_bytes"]]
    program = data[header["program_offset"]:header["program_offset"] + header["program_bytes"]]
    weights = data[header["weights_offset"]:header["weights_offset"] + header["weights_bytes"]]
    model = _decode_meta(meta, header["format_version"])
    model.layers = _decode_program(program, weights, model)
    return model


def _decode_header(data):
    if len(data) < HEADER_BYTES:
        raise DataLossError(f"file is {len(data)} bytes, shorter than the "
                            f"{HEADER_BYTES}-byte header")
    fields = _HEADER.unpack_from(data)
    names = ("magic", "format_version", "engine_abi_version", "header_bytes", "file_bytes",
             "meta_offset", "meta_bytes", "program_offset", "program_bytes", "weights_offset",
             "weights_bytes")
    header = dict(zip(names, fields))
    reserved = fields[len(names):]
    if header["magic"] != MAGIC:
        raise InvalidModelError(f"magic is {header['magic']!r}; expected {MAGIC!r}")
    for field, supported in (("format_version", range(OLDEST_FORMAT_VERSION, FORMAT_VERSION + 1)),
                             ("engine_abi_version", range(ENGINE_ABI_VERSION,
                                                          ENGINE_ABI_VERSION + 1))):
        if header[field] not in supported:
            raise UnsupportedModelError(f"{field} is {header[field]}; this reader supports "
                                        f"{supported.start}..{supported.stop - 1}")
    _expect(header["header_bytes"] == HEADER_BYTES,
            f"header_bytes is {header['header_bytes']}; expected {HEADER_BYTES}")

    file_bytes = header["file_bytes"]
    if len(data) < file_bytes:
        raise DataLossError(f"file is {len(data)} bytes, shorter than file_bytes = {file_bytes}")
    _expect(len(data) == file_bytes,
            f"file is {len(data)} bytes, longer than file_bytes = {file_bytes}")
    _expect(file_bytes >= HEADER_BYTES + CRC_BYTES,
            f"file_bytes is {file_bytes}; expected at least {HEADER_BYTES + CRC_BYTES}")
    stored_crc, = struct.unpack_from("<I", data, file_bytes - CRC_BYTES)
    actual_crc = zlib.crc32(data[:file_bytes - CRC_BYTES])
    if stored_crc != actual_crc:
        raise DataLossError(f"CRC-32 is 0x{stored_crc:08x}; the content's is 0x{actual_crc:08x}")
    _expect_zero(reserved, "header reserved")

    # Sections: META at 64, PROGRAM right after it, WEIGHTS at the next 64-byte boundary (zero
    # padding in between), the CRC right after WEIGHTS.
    crc_offset = file_bytes - CRC_BYTES
    for section in ("meta", "program", "weights"):
        end = header[f"{section}_offset"] + header[f"{section}_bytes"]
        if end > crc_offset:
            raise DataLossError(f"{section.upper()} section [{header[f'{section}_offset']}, {end}) "
                                f"runs past the end of the content at {crc_offset}")
    program_end = header["program_offset"] + header["program_bytes"]
    layout = (("meta_offset", HEADER_BYTES),
              ("program_offset", header["meta_offset"] + header["meta_bytes"]),
              ("weights_offset", _align(program_end)))
    for field, expected in layout:
        _expect(header[field] == expected, f"{field} is {header[field]}; expected {expected}")
    _expect(header["weights_bytes"] % ALIGNMENT == 0,
            f"weights_bytes is {header['weights_bytes']}; expected a multiple of {ALIGNMENT}")
    weights_end = header["weights_offset"] + header["weights_bytes"]
    _expect(weights_end == crc_offset,
            f"WEIGHTS ends at {weights_end}; expected it to end where the CRC starts, {crc_offset}")
    _expect(not any(data[program_end:header["weights_offset"]]),
            f"padding [{program_end}, {header['weights_offset']}) before WEIGHTS is not all zero")
    return header


class _MetaReader:
    """Reads META fields in order, failing clearly when a field would run past META."""

    def __init__(self, meta):
        self.meta = meta
        self.pos = 0

    def take(self, n, field):
        _expect(self.pos + n <= len(self.meta),
                f"META field {field} needs bytes [{self.pos}, {self.pos + n}) but META is "
                f"{len(self.meta)} bytes")
        chunk = self.meta[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u32(self, field, low, high):
        value, = struct.unpack("<I", self.take(4, field))
        _expect(low <= value <= high, f"{field} is {value}; expected {low}..{high}")
        return value

    def str(self, field, low, high, pattern=None):
        length, = struct.unpack("<H", self.take(2, f"{field} length"))
        _expect(low <= length <= high, f"{field} is {length} bytes; expected {low}..{high}")
        raw = self.take(length, field)
        if pattern is not None:
            _expect(pattern.fullmatch(raw),
                    f"{field} is {raw!r}; expected {pattern.pattern.decode()}")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidModelError(f"{field} is not valid UTF-8: {e}") from None


def _decode_meta(meta, format_version):
    reader = _MetaReader(meta)
    name = reader.str("name", 1, 64, _NAME_RE)
    version = reader.str("version", 1, 32, _VERSION_RE)
    description = reader.str("description", 0, 1024)
    input_shape = (reader.u32("input_channels", 1, 4), reader.u32("input_height", 1, 256),
                   reader.u32("input_width", 1, 256))
    num_classes = reader.u32("num_classes", 2, 1024)
    labels = [reader.str(f"labels[{i}]", 1, 64) for i in range(num_classes)]
    preprocess = Preprocess()
    if format_version >= 2:
        preprocess = _decode_preprocess(reader, input_shape)
    last = "preprocessing record" if format_version >= 2 else "last label"
    _expect(reader.pos == len(meta),
            f"META holds {len(meta) - reader.pos} bytes after the {last}; "
            f"expected it to end there")
    return Model(name=name, version=version, description=description, input_shape=input_shape,
                 labels=labels, layers=[], preprocess=preprocess)


def _decode_preprocess(reader, input_shape):
    method = reader.u32("preprocess", 0, 1)
    c, h, w = input_shape
    if method == PREPROCESS_NONE:
        rest = [reader.u32(field, 0, 0) for field in
                ("box_height", "box_width", "placement", "levels", "foreground")]
        return Preprocess(method, *rest)
    _expect(c == 1, f"preprocess crop_fit makes 1-channel inputs, but input_channels is {c}")
    return Preprocess(method, reader.u32("box_height", 1, h), reader.u32("box_width", 1, w),
                      reader.u32("placement", 0, 1), reader.u32("levels", 0, 1),
                      reader.u32("foreground", 0, 1))


def _decode_program(program, weights, model):
    _expect(len(program) >= PROGRAM_HEADER_BYTES,
            f"program_bytes is {len(program)}; expected at least {PROGRAM_HEADER_BYTES}")
    layer_count, *reserved = struct.unpack_from("<4I", program)
    _expect(1 <= layer_count <= MAX_LAYERS,
            f"layer_count is {layer_count}; expected 1..{MAX_LAYERS}")
    _expect_zero(reserved, "PROGRAM reserved")
    expected_bytes = PROGRAM_HEADER_BYTES + LAYER_BYTES * layer_count
    _expect(len(program) == expected_bytes,
            f"program_bytes is {len(program)}; expected {expected_bytes} for {layer_count} layers")

    layers = []
    used = np.zeros(len(weights), dtype=bool)  # WEIGHTS bytes referenced by some blob.
    for index in range(layer_count):
        fields = _LAYER.unpack_from(program, PROGRAM_HEADER_BYTES + LAYER_BYTES * index)
        layer, blob_ranges = _decode_layer(index, fields, weights)
        for what, (start, size) in blob_ranges.items():
            _expect(not used[start:start + size].any(),
                    f"layer {index} {what} [{start}, {start + size}) overlaps another blob")
            used[start:start + size] = True
        layers.append(layer)
    unused = np.frombuffer(weights, dtype=np.uint8)[~used]
    _expect(not unused.any(), "WEIGHTS bytes not referenced by any layer are not all zero")
    check_chain(layers, model)
    return layers


def _decode_layer(index, fields, weights):
    """Returns (Layer, {"weights"|"params": (offset, bytes)}) for descriptor `index`."""
    (op, flags, in_c, in_h, in_w, out_c, out_h, out_w,
     weights_offset, weights_bytes, params_offset, params_bytes) = fields[:12]
    args = tuple(fields[12:15])
    reserved = fields[15]
    where = f"layer {index}"
    if op not in OP_NAMES:
        raise UnsupportedModelError(f"{where}: op is {op}; engine ABI v1 supports "
                                    f"{', '.join(f'{k} {v}' for k, v in OP_NAMES.items())}")
    where = f"layer {index} ({OP_NAMES[op]})"
    _expect(flags == 0, f"{where}: flags is {flags}; expected 0")
    _expect(reserved == 0, f"{where}: reserved is {reserved}; expected 0")

    blobs = {}
    for what, offset, size in (("weights", weights_offset, weights_bytes),
                               ("params", params_offset, params_bytes)):
        _expect(offset % ALIGNMENT == 0,
                f"{where}: {what}_offset is {offset}; expected a multiple of {ALIGNMENT}")
        _expect(offset + size <= len(weights),
                f"{where}: {what} [{offset}, {offset + size}) lies outside WEIGHTS "
                f"(weights_bytes = {len(weights)})")
        _expect(size > 0 or offset == 0,
                f"{where}: {what}_offset is {offset} for an empty blob; expected 0")
        blobs[what] = (offset, size)

    layer = Layer(op=op, in_shape=(in_c, in_h, in_w), out_shape=(out_c, out_h, out_w), args=args,
                  weights=weights[weights_offset:weights_offset + weights_bytes],
                  params=weights[params_offset:params_offset + params_bytes])
    check_layer(where, layer)
    return layer, {what: blob for what, blob in blobs.items() if blob[1]}


def _expect_zero(values, what):
    _expect(not any(values), f"{what} is {list(values)}; expected all 0")
