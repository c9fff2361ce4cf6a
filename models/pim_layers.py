"""The layer ops of engine ABI v1: their numbers, constructors and rules (accel/model/MODEL_FORMAT.md,
"Ops of engine ABI v1" and "Int8 ops").

pim.py is the file container (header, META, PROGRAM, WEIGHTS, CRC) and re-exports everything here,
so callers write `pim.int8_dense(...)`. This module holds what is specific to each op: how its
blobs are laid out, which shapes and args it takes, what the values in its blobs may be, and how
layers chain. Its errors mirror the C++ loader's absl codes (see pim.py).

Example:
    layers = [pim.input_quantize((1, 28, 28), multiplier=32639, shift=16),
              pim.int8_dense(w1, (1, 28, 28), bias1, multiplier1, shift1, relu=True),
              pim.int8_dense_scores(w2, (128, 1, 1), bias2)]
"""

import dataclasses

import numpy as np

OP_INPUT_BINARIZE = 1
OP_BNN_DENSE = 2
OP_BNN_DENSE_SCORES = 3
OP_INPUT_QUANTIZE = 4
OP_INT8_DENSE = 5
OP_INT8_DENSE_SCORES = 6
OP_INT8_CONV = 7
OP_MAXPOOL = 8
OP_NAMES = {OP_INPUT_BINARIZE: "INPUT_BINARIZE", OP_BNN_DENSE: "BNN_DENSE",
            OP_BNN_DENSE_SCORES: "BNN_DENSE_SCORES", OP_INPUT_QUANTIZE: "INPUT_QUANTIZE",
            OP_INT8_DENSE: "INT8_DENSE", OP_INT8_DENSE_SCORES: "INT8_DENSE_SCORES",
            OP_INT8_CONV: "INT8_CONV", OP_MAXPOOL: "MAXPOOL"}

INPUT_OPS = (OP_INPUT_BINARIZE, OP_INPUT_QUANTIZE)
SCORES_OPS = (OP_BNN_DENSE_SCORES, OP_INT8_DENSE_SCORES)
# What each op takes; the input ops take the uint8 model input.
BIT_OPS = (OP_BNN_DENSE, OP_BNN_DENSE_SCORES)
INT8_OPS = (OP_INT8_DENSE, OP_INT8_DENSE_SCORES, OP_INT8_CONV, OP_MAXPOOL)
# What each non-scores op produces.
BIT_PRODUCERS = (OP_INPUT_BINARIZE, OP_BNN_DENSE)
INT8_PRODUCERS = (OP_INPUT_QUANTIZE, OP_INT8_DENSE, OP_INT8_CONV, OP_MAXPOOL)

MAX_VECTOR = 4096  # Elements of any activation tensor: the engine's on-chip activation buffers.
MAX_PARAM_MAGNITUDE = 1 << 24  # |threshold|, |bias| bound: dot + param never overflows int32.
MAX_MULTIPLIER = (1 << 31) - 1  # Requantization multipliers are 1..MAX_MULTIPLIER.
MAX_SHIFT = 62  # Requantization shifts are 0..MAX_SHIFT.
MAX_INPUT_MULTIPLIER = 1 << 16  # INPUT_QUANTIZE arg[0] is 1..MAX_INPUT_MULTIPLIER.
MAX_INPUT_SHIFT = 31  # INPUT_QUANTIZE arg[1] is 0..MAX_INPUT_SHIFT.
MAX_KERNEL = 7  # INT8_CONV kernel side K = arg[0] is 1..MAX_KERNEL.
POOL_RANGE = (2, 4)  # MAXPOOL window side P = arg[0].
REQUANT_PARAM_ARRAYS = 3  # bias[], multiplier[], shift[]


class ModelFormatError(ValueError):
    """A model file that does not follow the format; `code` names the C++ loader's absl code."""
    code = None


class DataLossError(ModelFormatError):
    code = "DATA_LOSS"


class InvalidModelError(ModelFormatError):
    code = "INVALID_ARGUMENT"


class UnsupportedModelError(ModelFormatError):
    code = "UNIMPLEMENTED"


def expect(condition, message):
    """Raises InvalidModelError(message) unless `condition`."""
    if not condition:
        raise InvalidModelError(message)


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
        """Returns the params blob as int32: thresholds, biases, or bias/multiplier/shift arrays
        back to back, depending on the op."""
        return np.frombuffer(self.params, dtype="<i4").astype(np.int32)

    def int8_weights(self):
        """Returns an int8 layer's weights: [n_out, n_in] (dense) or [OC, C, K, K] (conv)."""
        weights = np.frombuffer(self.weights, dtype=np.int8)
        if self.op == OP_INT8_CONV:
            k = self.args[0]
            return weights.reshape(self.out_shape[0], self.in_shape[0], k, k)
        return weights.reshape(self.out_shape[0], _elements(self.in_shape))

    def requantization(self):
        """Returns (bias, multiplier, shift), int64 [n_out] each, of INT8_DENSE or INT8_CONV."""
        bias, multiplier, shift = self.params_i32().astype(np.int64).reshape(REQUANT_PARAM_ARRAYS,
                                                                             -1)
        return bias, multiplier, shift

    @property
    def relu(self):
        """Whether an INT8_DENSE or INT8_CONV layer clamps at 0 (arg[1] = 1)."""
        return self.args[1] == 1


def _elements(shape):
    c, h, w = shape
    return c * h * w


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


# ---------------------------------------------------------------------------------------------
# Constructors. Each checks its arguments' shapes and ranges, so a bad export fails where it is
# made, not later in encode().


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
    return Layer(op=op, in_shape=(n_in, 1, 1), out_shape=(n_out, 1, 1),
                 weights=pack_bits(weight_bits), params=_i32_blob(params, n_out, what))


def input_quantize(input_shape, multiplier, shift):
    """INPUT_QUANTIZE layer: q = clamp(RoundShift(pixel * multiplier, shift), -128, 127)."""
    c, h, w = input_shape
    return Layer(op=OP_INPUT_QUANTIZE, in_shape=(c, h, w), out_shape=(c, h, w),
                 args=(int(multiplier), int(shift), 0))


def int8_dense(weights, in_shape, bias, multiplier, shift, relu):
    """INT8_DENSE layer reading a flat `in_shape` tensor: weights int8 [n_out, n_in], per-channel
    bias, multiplier and shift [n_out]; output Requantize(acc, M, n, 0 if relu else -128)."""
    weights = _int8(weights, 2, "weights")
    n_out = weights.shape[0]
    _expect_flat_input(weights.shape[1], in_shape)
    return Layer(op=OP_INT8_DENSE, in_shape=tuple(in_shape), out_shape=(n_out, 1, 1),
                 weights=weights.tobytes(),
                 params=_requant_blob(bias, multiplier, shift, n_out), args=(0, int(relu), 0))


def int8_dense_scores(weights, in_shape, bias):
    """INT8_DENSE_SCORES layer: score_i = bias_i + sum_j w_ij x_j; weights int8 [n_out, n_in]."""
    weights = _int8(weights, 2, "weights")
    n_out = weights.shape[0]
    _expect_flat_input(weights.shape[1], in_shape)
    return Layer(op=OP_INT8_DENSE_SCORES, in_shape=tuple(in_shape), out_shape=(n_out, 1, 1),
                 weights=weights.tobytes(), params=_i32_blob(bias, n_out, "biases"))


def int8_conv(weights, in_shape, bias, multiplier, shift, relu):
    """INT8_CONV layer: valid, stride-1 K x K convolution of the (C, H, W) input; weights int8
    [OC, C, K, K], per-channel bias, multiplier and shift [OC]."""
    weights = _int8(weights, 4, "weights")
    oc, c, k, k2 = weights.shape
    _, h, w = in_shape
    if k != k2 or c != in_shape[0]:
        raise ValueError(f"conv weights have shape {list(weights.shape)}; expected "
                         f"[OC, {in_shape[0]}, K, K]")
    return Layer(op=OP_INT8_CONV, in_shape=tuple(in_shape), out_shape=(oc, h - k + 1, w - k + 1),
                 weights=weights.tobytes(), params=_requant_blob(bias, multiplier, shift, oc),
                 args=(k, int(relu), 0))


def maxpool(in_shape, pool):
    """MAXPOOL layer: the maximum of each non-overlapping pool x pool window."""
    c, h, w = in_shape
    return Layer(op=OP_MAXPOOL, in_shape=(c, h, w), out_shape=(c, h // pool, w // pool),
                 args=(int(pool), 0, 0))


def _int8(weights, ndim, what):
    weights = np.asarray(weights)
    if weights.ndim != ndim or weights.dtype != np.int8:
        raise ValueError(f"{what} are {weights.dtype} with {weights.ndim} dimensions; expected "
                         f"int8 with {ndim}")
    return weights


def _expect_flat_input(n_in, in_shape):
    if n_in != _elements(in_shape):
        raise ValueError(f"weights have {n_in} columns; the input {tuple(in_shape)} has "
                         f"{_elements(in_shape)} elements")


def _i32_blob(values, n, what):
    values = np.asarray(values, dtype=np.int64)
    if values.shape != (n,):
        raise ValueError(f"{what} have shape {values.shape}; expected ({n},)")
    if values.size and np.abs(values).max() > MAX_PARAM_MAGNITUDE:
        raise ValueError(f"{what} outside +-{MAX_PARAM_MAGNITUDE}: [{values.min()}, {values.max()}]")
    return values.astype("<i4").tobytes()


def _requant_blob(bias, multiplier, shift, n):
    bias_blob = _i32_blob(bias, n, "biases")
    parts = [bias_blob]
    for values, what, low, high in ((multiplier, "multipliers", 1, MAX_MULTIPLIER),
                                    (shift, "shifts", 0, MAX_SHIFT)):
        values = np.asarray(values, dtype=np.int64)
        if values.shape != (n,):
            raise ValueError(f"{what} have shape {values.shape}; expected ({n},)")
        if values.size and (values.min() < low or values.max() > high):
            raise ValueError(f"{what} outside {low}..{high}: [{values.min()}, {values.max()}]")
        parts.append(values.astype("<i4").tobytes())
    return b"".join(parts)


# ---------------------------------------------------------------------------------------------
# Rules of each op, applied by pim.decode() to every layer read from a file.


def check_layer(where, layer):
    """Checks one layer's shapes, args, blob sizes and blob contents against its op's rules."""
    checks = {
        OP_INPUT_BINARIZE: _check_input_binarize,
        OP_BNN_DENSE: _check_binarized_dense,
        OP_BNN_DENSE_SCORES: _check_binarized_dense,
        OP_INPUT_QUANTIZE: _check_input_quantize,
        OP_INT8_DENSE: _check_int8_dense,
        OP_INT8_DENSE_SCORES: _check_int8_dense,
        OP_INT8_CONV: _check_int8_conv,
        OP_MAXPOOL: _check_maxpool,
    }
    expected_blobs = checks[layer.op](where, layer)
    for what, size in zip(("weights", "params"), expected_blobs):
        actual = len(getattr(layer, what))
        expect(actual == size, f"{where}: {what}_bytes is {actual}; expected {size}")
    _check_blob_values(where, layer)


def _expect_tensor(where, field, shape):
    expect(all(d >= 1 for d in shape) and _elements(shape) <= MAX_VECTOR,
           f"{where}: {field} shape is {shape}; expected at least 1 and at most {MAX_VECTOR} "
           f"elements")


def _expect_args(where, args, allowed):
    """`allowed` holds, per arg, a (low, high) range."""
    for i, (value, (low, high)) in enumerate(zip(args, allowed)):
        expect(low <= value <= high, f"{where}: arg[{i}] is {value}; expected {low}..{high}")


def _check_input_binarize(where, layer):
    c, h, w = layer.in_shape
    expect(layer.out_shape == (c * h * w, 1, 1),
           f"{where}: output shape is {layer.out_shape}; expected {(c * h * w, 1, 1)}")
    _expect_tensor(where, "output", layer.out_shape)
    _expect_args(where, layer.args, ((1, 255), (0, 0), (0, 0)))
    return 0, 0


def _check_binarized_dense(where, layer):
    for field, shape in (("input", layer.in_shape), ("output", layer.out_shape)):
        expect(1 <= shape[0] <= MAX_VECTOR and shape[1:] == (1, 1),
               f"{where}: {field} shape is {shape}; expected (n, 1, 1) with n in 1..{MAX_VECTOR}")
    expect(layer.args == (0, 0, 0), f"{where}: args are {layer.args}; expected 0")
    n_in, n_out = layer.in_shape[0], layer.out_shape[0]
    return n_out * 8 * words_per_row(n_in), 4 * n_out


def _check_input_quantize(where, layer):
    expect(layer.out_shape == layer.in_shape,
           f"{where}: output shape is {layer.out_shape}; expected the input's {layer.in_shape}")
    _expect_tensor(where, "input", layer.in_shape)
    _expect_args(where, layer.args, ((1, MAX_INPUT_MULTIPLIER), (0, MAX_INPUT_SHIFT), (0, 0)))
    return 0, 0


def _check_int8_dense(where, layer):
    _expect_tensor(where, "input", layer.in_shape)
    expect(1 <= layer.out_shape[0] <= MAX_VECTOR and layer.out_shape[1:] == (1, 1),
           f"{where}: output shape is {layer.out_shape}; expected (n, 1, 1) with n in "
           f"1..{MAX_VECTOR}")
    n_in, n_out = _elements(layer.in_shape), layer.out_shape[0]
    if layer.op == OP_INT8_DENSE:
        _expect_args(where, layer.args, ((0, 0), (0, 1), (0, 0)))
        return n_out * n_in, 4 * REQUANT_PARAM_ARRAYS * n_out
    _expect_args(where, layer.args, ((0, 0), (0, 0), (0, 0)))
    return n_out * n_in, 4 * n_out


def _check_int8_conv(where, layer):
    _expect_tensor(where, "input", layer.in_shape)
    _expect_args(where, layer.args, ((1, MAX_KERNEL), (0, 1), (0, 0)))
    k = layer.args[0]
    c, h, w = layer.in_shape
    expect(h >= k and w >= k, f"{where}: input {layer.in_shape} is smaller than the {k}x{k} kernel")
    expected = (layer.out_shape[0], h - k + 1, w - k + 1)
    expect(layer.out_shape == expected,
           f"{where}: output shape is {layer.out_shape}; expected {expected}")
    _expect_tensor(where, "output", layer.out_shape)
    oc = layer.out_shape[0]
    return oc * c * k * k, 4 * REQUANT_PARAM_ARRAYS * oc


def _check_maxpool(where, layer):
    _expect_tensor(where, "input", layer.in_shape)
    _expect_args(where, layer.args, (POOL_RANGE, (0, 0), (0, 0)))
    p = layer.args[0]
    c, h, w = layer.in_shape
    expect(h % p == 0 and w % p == 0,
           f"{where}: input {layer.in_shape} is not a whole number of {p}x{p} windows")
    expect(layer.out_shape == (c, h // p, w // p),
           f"{where}: output shape is {layer.out_shape}; expected {(c, h // p, w // p)}")
    return 0, 0


def _check_blob_values(where, layer):
    if layer.op in BIT_OPS:
        # Padding bits must be 0, or dot = n_in - 2 * popcount(row XOR input) would count them.
        n_in = layer.in_shape[0]
        packed = unpack_bits(layer.weights, layer.out_shape[0], 64 * words_per_row(n_in))
        expect(not packed[:, n_in:].any(), f"{where}: weight padding bits are not all 0")
    if layer.op in (OP_INT8_DENSE, OP_INT8_CONV):
        bias, multiplier, shift = layer.requantization()
        for values, what, low, high in ((multiplier, "multiplier", 1, MAX_MULTIPLIER),
                                        (shift, "shift", 0, MAX_SHIFT)):
            bad = np.flatnonzero((values < low) | (values > high))
            if bad.size:
                raise InvalidModelError(f"{where}: {what}[{bad[0]}] is {values[bad[0]]}; "
                                        f"expected {low}..{high}")
        params = bias
    else:
        params = layer.params_i32().astype(np.int64)
    expect(np.all(np.abs(params) <= MAX_PARAM_MAGNITUDE),
           f"{where}: a threshold or bias lies outside +-{MAX_PARAM_MAGNITUDE}")


def check_chain(layers, model):
    """Checks how the layers connect: an input op first, each input the previous output, bits
    into binarized ops and int8 into int8 ops, a scores op last (and only last)."""
    first, last = layers[0], layers[-1]
    expect(first.op in INPUT_OPS,
           f"layer 0 is {OP_NAMES[first.op]}; expected an input op (INPUT_BINARIZE or "
           f"INPUT_QUANTIZE)")
    expect(first.in_shape == model.input_shape,
           f"layer 0 input shape is {first.in_shape}; expected the model input {model.input_shape}")
    for index in range(1, len(layers)):
        layer, previous = layers[index], layers[index - 1]
        where = f"layer {index} ({OP_NAMES[layer.op]})"
        expect(layer.op not in INPUT_OPS, f"{where}: an input op must be layer 0")
        expect(layer.in_shape == previous.out_shape,
               f"{where}: input shape is {layer.in_shape}; expected the previous layer's output "
               f"{previous.out_shape}")
        expect(previous.op not in SCORES_OPS,
               f"{where}: a scores op must be the last layer, but layer {index - 1} "
               f"({OP_NAMES[previous.op]}) is one and {len(layers) - index} follow")
        takes, produced = ("bits", BIT_PRODUCERS) if layer.op in BIT_OPS else ("int8",
                                                                               INT8_PRODUCERS)
        expect(previous.op in produced,
               f"{where}: takes {takes}, but layer {index - 1} ({OP_NAMES[previous.op]}) does "
               f"not produce {takes}")
    expect(last.op in SCORES_OPS,
           f"the last layer is {OP_NAMES[last.op]}; expected a scores op (BNN_DENSE_SCORES or "
           f"INT8_DENSE_SCORES)")
    expect(last.out_shape[0] == model.num_classes,
           f"the last layer produces {last.out_shape[0]} scores; expected num_classes = "
           f"{model.num_classes}")
