"""Post-training quantization of float networks to the int8 ops of engine ABI v1 (numpy only).

The scheme (accel/model/MODEL_FORMAT.md, "Int8 ops"): every int8 tensor t stands for the real tensor
s_t * t, with one scale s_t > 0 per tensor and no zero point (symmetric).
  input      the float network sees x = pixel / 255; INPUT_QUANTIZE computes
             q = RoundShift(pixel * m, n) with m / 2^n ~ 1 / (255 * s_in), s_in ~ 1 / 127
  weights    per output channel o: s_w[o] = max |W[o]| / 127, W_q[o] = round(W[o] / s_w[o])
             (-127..127); the scores layer uses one s_w for all rows, so its scores share a unit
             and their argmax is the argmax of the float logits (up to rounding)
  biases     b_q[o] = round(b[o] / (s_in * s_w[o])): acc = b_q + W_q x_q is in units s_in * s_w[o]
  outputs    s_out = (a high percentile of the layer's float activations on calibration images)
             / 127, after ReLU; q_out = Requantize(acc, M, n, lo) with M / 2^n ~ s_in s_w / s_out
  max-pool   commutes with the monotonic requantization: its output keeps its input's scale

Example:
    w_q, s_w = quantize.per_channel_weights(w)            # w float [n_out, ...]
    multiplier, shift = quantize.multipliers(s_in * s_w / s_out)
"""

import math

import numpy as np

INT8_MAX = 127
# INPUT_QUANTIZE's multiplier is applied as pixel * m / 2^INPUT_SHIFT; 16 bits keep m within the
# format's 1..2^16 for any scale the inputs here need, and pixel * m within 24 bits.
INPUT_SHIFT = 16
MAX_INPUT_MULTIPLIER = 1 << 16
# Requantization multipliers are normalized to [2^30, 2^31), 31 bits of precision, as in gemmlowp.
MULTIPLIER_BITS = 31
MAX_SHIFT = 62
MAX_BIAS = 1 << 24
# Calibration: the activation value mapped to 127 is this percentile of what the calibration images
# produce, which ignores rare outliers that would otherwise waste most of the int8 range.
CALIBRATION_PERCENTILE = 99.99


def input_quantizer(scale):
    """Returns (multiplier, shift, effective scale) of INPUT_QUANTIZE for an int8 input of `scale`
    (real units per step, the float input being pixel / 255): q ~ pixel / (255 * scale)."""
    multiplier = round((1 << INPUT_SHIFT) / (255.0 * scale))
    if not 1 <= multiplier <= MAX_INPUT_MULTIPLIER:
        raise ValueError(f"input scale {scale} needs multiplier {multiplier}; the format allows "
                         f"1..{MAX_INPUT_MULTIPLIER}")
    return multiplier, INPUT_SHIFT, (1 << INPUT_SHIFT) / (255.0 * multiplier)


def weight_scales(weights, per_channel, biases=None, input_scale=None):
    """Scales of float weights [n_out, ...]: max |w| / 127 per output channel, or one for all.

    With `biases` and `input_scale`, a scale is raised where needed so the channel's quantized
    bias b / (input_scale * scale) stays within the format's +-2^24: a channel whose weights have
    all but died (weight decay does that) while its bias has not would otherwise need a bias far
    beyond int32. Its weights then round to 0, which they nearly were. An all-zero channel with
    a zero bias gets scale 1 (its int8 weights are 0 whatever the scale)."""
    weights = np.asarray(weights, dtype=np.float64)
    if per_channel:
        peak = np.abs(weights.reshape(len(weights), -1)).max(axis=1)
    else:
        peak = np.full(len(weights), np.abs(weights).max())
    scales = peak / INT8_MAX
    if biases is not None:
        floor = np.abs(np.asarray(biases, dtype=np.float64)) / (input_scale * MAX_BIAS)
        scales = np.maximum(scales, floor if per_channel else np.full(len(scales), floor.max()))
    return np.where(scales > 0, scales, 1.0)


def quantize_weights(weights, scales):
    """round(w / scale) per output channel, clipped to -127..127, as int8 [n_out, ...]."""
    weights = np.asarray(weights, dtype=np.float64)
    scaled = weights / np.asarray(scales).reshape((-1,) + (1,) * (weights.ndim - 1))
    return np.clip(np.rint(scaled), -INT8_MAX, INT8_MAX).astype(np.int8)


def quantize_biases(biases, input_scale, scales):
    """round(b / (s_in * s_w)) as int64; fails if one exceeds the format's +-2^24."""
    quantized = np.rint(np.asarray(biases, dtype=np.float64) / (input_scale * scales))
    if np.abs(quantized).max(initial=0) > MAX_BIAS:
        raise ValueError(f"a quantized bias is {np.abs(quantized).max():.0f}, beyond the format's "
                         f"+-{MAX_BIAS}: the layer's input or weight scale is too small")
    return quantized.astype(np.int64)


def multiplier(real):
    """Returns (M, n), M in [2^30, 2^31) and n in 0..62, with M / 2^n closest to `real` > 0.

    Reals below 2^-32 cannot keep 31 bits inside n <= 62; they get M = round(real * 2^62) (at
    least 1). Reals of 2^31 or more cannot be written with n >= 0 and a 31-bit M: ValueError."""
    if not real > 0:
        raise ValueError(f"a requantization multiplier must be positive, got {real}")
    fraction, exponent = math.frexp(real)  # real = fraction * 2^exponent, fraction in [0.5, 1)
    m = round(fraction * (1 << MULTIPLIER_BITS))
    shift = MULTIPLIER_BITS - exponent
    if m == 1 << MULTIPLIER_BITS:  # fraction rounded up to 1.
        m >>= 1
        shift -= 1
    if shift > MAX_SHIFT:
        m = max(1, round(real * (1 << MAX_SHIFT)))
        shift = MAX_SHIFT
    if shift < 0:
        raise ValueError(f"requantization multiplier {real} is too large to represent")
    return m, shift


def multipliers(reals):
    """multiplier() of each element: (M int64 [n], n int64 [n])."""
    pairs = [multiplier(float(r)) for r in np.asarray(reals, dtype=np.float64).ravel()]
    return (np.array([m for m, _ in pairs], dtype=np.int64),
            np.array([n for _, n in pairs], dtype=np.int64))


def activation_scale(activations):
    """The output scale of a layer from its float activations on calibration images."""
    peak = float(np.percentile(np.abs(np.asarray(activations, dtype=np.float64)),
                               CALIBRATION_PERCENTILE))
    if not peak > 0:
        raise ValueError("calibration activations are all zero: the layer is dead")
    return peak / INT8_MAX


class Requantized:
    """One int8 dense or conv layer, quantized: the pieces of pim.int8_dense / pim.int8_conv.

    weights: float [n_out, ...]; biases float [n_out]; input_scale and output_scale: the scales of
    the int8 tensor the layer reads and of the one it writes."""

    def __init__(self, weights, biases, input_scale, output_scale):
        scales = weight_scales(weights, per_channel=True, biases=biases, input_scale=input_scale)
        self.weights = quantize_weights(weights, scales)
        self.bias = quantize_biases(biases, input_scale, scales)
        self.multiplier, self.shift = multipliers(input_scale * scales / output_scale)
        self.output_scale = output_scale


class Scores:
    """The scores layer, quantized with one weight scale: pieces of pim.int8_dense_scores."""

    def __init__(self, weights, biases, input_scale):
        scales = weight_scales(weights, per_channel=False, biases=biases, input_scale=input_scale)
        self.weights = quantize_weights(weights, scales)
        self.bias = quantize_biases(biases, input_scale, scales)
        self.scale = float(input_scale * scales[0])  # Real units of one score step.
