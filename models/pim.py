"""Writes and reads pynq-infer model files (`*.pim`), format v1 / engine ABI v1.

accel/MODEL_FORMAT.md is the specification; this module follows it field by field and is the Python
counterpart of the C++ loader (accel/model.h). read()/decode() validate everything the page says and
raise a ModelFormatError (a ValueError) whose subclass mirrors the C++ loader's absl code:

  DataLossError          kDataLoss          truncated file, section past the end, CRC mismatch
  InvalidModelError      kInvalidArgument   wrong magic, any inconsistent field
  UnsupportedModelError  kUnimplemented     unsupported format/ABI version or op

write()/encode() validate the bytes they produce with the same code, so they never emit a file the
loader would reject.

Example:
    model = pim.Model(name="tiny", version="1.0.0", description="", input_shape=(1, 2, 2),
                      labels=["a", "b"],
                      layers=[pim.input_binarize((1, 2, 2), threshold=128),
                              pim.bnn_dense_scores(weight_bits, biases)])
    pim.write("tiny.pim", model)
    assert pim.read("tiny.pim") == model
"""

import dataclasses
import re
import struct
import zlib

import numpy as np

MAGIC = b"PYNQMDL\0"
FORMAT_VERSION = 1
ENGINE_ABI_VERSION = 1
HEADER_BYTES = 64
ALIGNMENT = 64  # Of WEIGHTS in the file and of every blob inside WEIGHTS.
CRC_BYTES = 4

PROGRAM_HEADER_BYTES = 16
LAYER_BYTES = 64
MAX_LAYERS = 16
MAX_VECTOR = 4096  # n_in and n_out limit: the engine's on-chip activation buffers.
MAX_PARAM_MAGNITUDE = 1 << 24  # |threshold|, |bias| bound: dot + param never overflows int32.

OP_INPUT_BINARIZE = 1
OP_BNN_DENSE = 2
OP_BNN_DENSE_SCORES = 3
OP_NAMES = {OP_INPUT_BINARIZE: "INPUT_BINARIZE", OP_BNN_DENSE: "BNN_DENSE",
            OP_BNN_DENSE_SCORES: "BNN_DENSE_SCORES"}

# Header: magic, format_version, engine_abi_version, header_bytes, file_bytes, meta_offset,
# meta_bytes, program_offset, program_bytes, weights_offset, weights_bytes, reserved[5].
_HEADER = struct.Struct("<8sHHIIIIIIII5I")
# Layer descriptor: op, flags, in_c, in_h, in_w, out_c, out_h, out_w, weights_offset, weights_bytes,
# params_offset, params_bytes, arg[3], reserved.
_LAYER = struct.Struct("<12I3iI")
assert _HEADER.size == HEADER_BYTES and _LAYER.size == LAYER_BYTES

_NAME_RE = re.compile(rb"[a-z0-9._-]{1,64}")
_VERSION_RE = re.compile(rb"[\x21-\x7e]{1,32}")  # Printable ASCII, no spaces.


class ModelFormatError(ValueError):
    """A model file that does not follow the format; `code` names the C++ loader's absl code."""
    code = None


class DataLossError(ModelFormatError):
    code = "DATA_LOSS"


class InvalidModelError(ModelFormatError):
    code = "INVALID_ARGUMENT"


class UnsupportedModelError(ModelFormatError):
    code = "UNIMPLEMENTED"


@dataclasses.dataclass
class Layer:
    """One layer descriptor with its blobs. Shapes are (channels, height, width)."""
    op: int
    in_shape: tuple
    out_shape: tuple
    weights: bytes = b""
    params: bytes = b""
    args: tuple = (0, 0, 0)

    def weight_bits(self):
        """Returns a binarized layer's weights as a bool array [n_out, n_in] (True means +1)."""
        return unpack_bits(self.weights, self.out_shape[0], self.in_shape[0])

    def params_i32(self):
        """Returns the params blob as int32 [n_out]: thresholds or biases, depending on the op."""
        return np.frombuffer(self.params, dtype="<i4").astype(np.int32)


@dataclasses.dataclass
class Model:
    name: str
    version: str
    description: str
    input_shape: tuple  # (channels, height, width) of the uint8 input image.
    labels: list
    layers: list

    @property
    def num_classes(self):
        return len(self.labels)


def words_per_row(n):
    """u64 words holding a vector of n bits."""
    return -(-n // 64)


def pack_bits(bits):
    """Packs bool [rows, n] into rows of ceil(n/64) little-endian u64 words; element j of a row is
    bit j % 64 of word j / 64; padding bits are 0."""
    bits = np.asarray(bits, dtype=bool)
    rows, n = bits.shape
    padded = np.zeros((rows, 64 * words_per_row(n)), dtype=np.uint8)
    padded[:, :n] = bits
    # Little-endian words and bitorder="little" put element j at bit j % 8 of byte j / 8, which is
    # bit j % 64 of little-endian word j / 64.
    return np.packbits(padded, axis=1, bitorder="little").tobytes()


def unpack_bits(data, rows, n):
    """Inverse of pack_bits(): bytes -> bool [rows, n]."""
    packed = np.frombuffer(data, dtype=np.uint8).reshape(rows, 8 * words_per_row(n))
    return np.unpackbits(packed, axis=1, bitorder="little")[:, :n].astype(bool)


def input_binarize(input_shape, threshold):
    """INPUT_BINARIZE layer: bit j = pixel[j] >= threshold over the (C, H, W) input."""
    c, h, w = input_shape
    return Layer(op=OP_INPUT_BINARIZE, in_shape=(c, h, w), out_shape=(c * h * w, 1, 1),
                 args=(int(threshold), 0, 0))


def bnn_dense(weight_bits, thresholds):
    """BNN_DENSE layer: output bit i = dot_i >= thresholds[i]; weight_bits is bool [n_out, n_in]."""
    return _binarized_dense(OP_BNN_DENSE, weight_bits, thresholds, "thresholds")


def bnn_dense_scores(weight_bits, biases):
    """BNN_DENSE_SCORES layer: score_i = dot_i + biases[i]; weight_bits is bool [n_out, n_in]."""
    return _binarized_dense(OP_BNN_DENSE_SCORES, weight_bits, biases, "biases")


def _binarized_dense(op, weight_bits, params, what):
    weight_bits = np.asarray(weight_bits, dtype=bool)
    n_out, n_in = weight_bits.shape
    params = np.asarray(params, dtype=np.int64)
    if params.shape != (n_out,):
        raise ValueError(f"{what} have shape {params.shape}; expected ({n_out},)")
    if params.size and np.abs(params).max() > MAX_PARAM_MAGNITUDE:
        raise ValueError(f"{what} outside +-{MAX_PARAM_MAGNITUDE}: [{params.min()}, {params.max()}]")
    return Layer(op=op, in_shape=(n_in, 1, 1), out_shape=(n_out, 1, 1),
                 weights=pack_bits(weight_bits), params=params.astype("<i4").tobytes())


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
    ])


def encode(model):
    """Returns the bytes of `model` as a v1 file, validated as decode() does."""
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
    """Parses and validates a v1 model file; returns a Model or raises a ModelFormatError."""
    data = bytes(data)
    header = _decode_header(data)
    meta = data[header["meta_offset"]:header["meta_offset"] + header["meta_bytes"]]
    program = data[header["program_offset"]:header["program_offset"] + header["program_bytes"]]
    weights = data[header["weights_offset"]:header["weights_offset"] + header["weights_bytes"]]
    model = _decode_meta(meta)
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
    for field, supported in (("format_version", FORMAT_VERSION),
                             ("engine_abi_version", ENGINE_ABI_VERSION)):
        if header[field] != supported:
            raise UnsupportedModelError(f"{field} is {header[field]}; this reader supports "
                                        f"{supported}")
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


def _decode_meta(meta):
    reader = _MetaReader(meta)
    name = reader.str("name", 1, 64, _NAME_RE)
    version = reader.str("version", 1, 32, _VERSION_RE)
    description = reader.str("description", 0, 1024)
    input_shape = (reader.u32("input_channels", 1, 4), reader.u32("input_height", 1, 256),
                   reader.u32("input_width", 1, 256))
    num_classes = reader.u32("num_classes", 2, 1024)
    labels = [reader.str(f"labels[{i}]", 1, 64) for i in range(num_classes)]
    _expect(reader.pos == len(meta),
            f"META holds {len(meta) - reader.pos} bytes after the last label; "
            f"expected it to end there")
    return Model(name=name, version=version, description=description, input_shape=input_shape,
                 labels=labels, layers=[])


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
    _check_chain(layers, model)
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
    in_shape, out_shape = (in_c, in_h, in_w), (out_c, out_h, out_w)

    blobs = {}
    for what, offset, size in (("weights", weights_offset, weights_bytes),
                               ("params", params_offset, params_bytes)):
        _expect(offset % ALIGNMENT == 0,
                f"{where}: {what}_offset is {offset}; expected a multiple of {ALIGNMENT}")
        _expect(offset + size <= len(weights),
                f"{where}: {what} [{offset}, {offset + size}) lies outside WEIGHTS "
                f"(weights_bytes = {len(weights)})")
        blobs[what] = (offset, size)

    if op == OP_INPUT_BINARIZE:
        expected_blobs = {"weights": 0, "params": 0}
        _expect(out_shape == (in_c * in_h * in_w, 1, 1),
                f"{where}: output shape is {out_shape}; expected {(in_c * in_h * in_w, 1, 1)}")
        _expect(1 <= args[0] <= 255, f"{where}: arg[0] is {args[0]}; expected 1..255")
        _expect(args[1:] == (0, 0), f"{where}: arg[1..2] are {args[1:]}; expected 0")
    else:
        n_in, n_out = in_c, out_c
        for field, shape in (("input", in_shape), ("output", out_shape)):
            _expect(1 <= shape[0] <= MAX_VECTOR and shape[1:] == (1, 1),
                    f"{where}: {field} shape is {shape}; "
                    f"expected (n, 1, 1) with n in 1..{MAX_VECTOR}")
        expected_blobs = {"weights": n_out * 8 * words_per_row(n_in), "params": 4 * n_out}
        _expect(args == (0, 0, 0), f"{where}: args are {args}; expected 0")

    for what, size in expected_blobs.items():
        _expect(blobs[what][1] == size,
                f"{where}: {what}_bytes is {blobs[what][1]}; expected {size}")
        if size == 0:
            _expect(blobs[what][0] == 0,
                    f"{where}: {what}_offset is {blobs[what][0]} for an empty blob; expected 0")

    layer = Layer(op=op, in_shape=in_shape, out_shape=out_shape, args=args,
                  weights=weights[weights_offset:weights_offset + weights_bytes],
                  params=weights[params_offset:params_offset + params_bytes])
    if op != OP_INPUT_BINARIZE:
        # Padding bits must be 0, or dot = n_in - 2 * popcount(row XOR input) would count them.
        packed = unpack_bits(layer.weights, out_shape[0], 64 * words_per_row(in_shape[0]))
        _expect(not packed[:, in_shape[0]:].any(), f"{where}: weight padding bits are not all 0")
        params = np.frombuffer(layer.params, dtype="<i4")
        _expect(np.all(np.abs(params.astype(np.int64)) <= MAX_PARAM_MAGNITUDE),
                f"{where}: a threshold or bias lies outside +-{MAX_PARAM_MAGNITUDE}")
    return layer, {what: blob for what, blob in blobs.items() if blob[1]}


def _check_chain(layers, model):
    first, last = layers[0], layers[-1]
    _expect(first.op == OP_INPUT_BINARIZE,
            f"layer 0 is {OP_NAMES[first.op]}; expected an input op (INPUT_BINARIZE)")
    _expect(first.in_shape == model.input_shape,
            f"layer 0 input shape is {first.in_shape}; "
            f"expected the model input {model.input_shape}")
    for index in range(1, len(layers)):
        layer = layers[index]
        where = f"layer {index} ({OP_NAMES[layer.op]})"
        _expect(layer.op != OP_INPUT_BINARIZE, f"{where}: an input op must be layer 0")
        _expect(layer.in_shape == layers[index - 1].out_shape,
                f"{where}: input shape is {layer.in_shape}; expected the previous layer's output "
                f"{layers[index - 1].out_shape}")
        _expect(layer.op != OP_BNN_DENSE_SCORES or index == len(layers) - 1,
                f"{where}: a scores op must be the last layer, "
                f"but {len(layers) - 1 - index} follow")
    _expect(last.op == OP_BNN_DENSE_SCORES,
            f"the last layer is {OP_NAMES[last.op]}; expected a scores op (BNN_DENSE_SCORES)")
    _expect(last.out_shape[0] == model.num_classes,
            f"the last layer produces {last.out_shape[0]} scores; expected num_classes = "
            f"{model.num_classes}")


def _expect(condition, message):
    if not condition:
        raise InvalidModelError(message)


def _expect_zero(values, what):
    _expect(not any(values), f"{what} is {list(values)}; expected all 0")
