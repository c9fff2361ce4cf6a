#!/usr/bin/python3
"""Integer reference implementation of a pynq-infer model (engine ABI v1).

It reads a `.pim` file through pim.py, so it also checks the file against the format, and computes
the class scores of a batch of images exactly as accel/model/MODEL_FORMAT.md defines each op, with numpy
integer operations only. Binarized layers work on the packed u64 words themselves: the input bits
are packed here with shifts (not with pim.pack_bits, so a bit-order mistake in the writer cannot
cancel out), and dot = n_in - 2 * popcount(row XOR input). Int8 layers hold activations as int64
[N, C, H, W] arrays and accumulate in int64, which is exact: the format bounds every accumulator
well inside int32 and every requantization product inside int64. Its scores are the golden values
the C++ CPU backend, the FPGA engine and the end-to-end tests must reproduce bit for bit.

Example:
    /usr/bin/python3 models/reference.py --model models/zoo/mnist-bnn-tfc.pim \\
        --images models/data/mnist-heldout-images.idx3-ubyte \\
        --labels models/data/mnist-heldout-labels.idx1-ubyte \\
        --golden-out models/golden/mnist-bnn-tfc.heldout-scores.idx2-int
    /usr/bin/python3 models/reference.py --zoo     # every shipped model (zoo.tsv) at once
"""

import argparse
import os
import sys

import numpy as np

import idx
import pim
import zoo

# popcount of every byte value.
_POPCOUNT8 = np.array([bin(b).count("1") for b in range(256)], dtype=np.int64)
_BIT_WEIGHTS = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))


def pack_words(bits):
    """Packs bool [N, n] into u64 words [N, ceil(n/64)]: element j is bit j % 64 of word j / 64."""
    n_vectors, n = bits.shape
    padded = np.zeros((n_vectors, 64 * pim.words_per_row(n)), dtype=np.uint64)
    padded[:, :n] = bits
    return np.bitwise_or.reduce(padded.reshape(n_vectors, -1, 64) * _BIT_WEIGHTS, axis=2)


def binarized_dot(layer, input_words):
    """Returns the ±1 dot products int64 [N, n_out] of a binarized dense layer."""
    n_in, n_out = layer.in_shape[0], layer.out_shape[0]
    rows = np.frombuffer(layer.weights, dtype="<u8").reshape(n_out, pim.words_per_row(n_in))
    xor = input_words[:, np.newaxis, :] ^ rows[np.newaxis, :, :]  # [N, n_out, words]
    popcount = _POPCOUNT8[xor.view(np.uint8)].sum(axis=2)  # Sums the 8 bytes of every word, too.
    return n_in - 2 * popcount


def round_shift(x, n):
    """RoundShift(x, n) of MODEL_FORMAT.md: x / 2^n rounded half up; x and n int64 (broadcast)."""
    x, n = np.asarray(x, dtype=np.int64), np.asarray(n, dtype=np.int64)
    half = np.left_shift(np.int64(1), np.maximum(n - 1, 0))
    return np.where(n == 0, x, (x + half) >> n)  # >> on int64 is arithmetic: floor.


def requantize(acc, multiplier, shift, relu):
    """Requantize(acc, M, n, lo) of MODEL_FORMAT.md, per channel along axis 1 of acc [N, C, ...]."""
    channel = (1, -1) + (1,) * (acc.ndim - 2)  # Broadcasts per-channel params over axis 1.
    product = acc * multiplier.reshape(channel)  # |acc| < 2^27 and M < 2^31: inside int64.
    return np.clip(round_shift(product, shift.reshape(channel)), 0 if relu else -128, 127)


def input_quantize(layer, pixels):
    """INPUT_QUANTIZE: uint8 [N, C, H, W] -> int8 values as int64 [N, C, H, W]."""
    return np.clip(round_shift(pixels.astype(np.int64) * layer.args[0], layer.args[1]), -128, 127)


def int8_dense_acc(layer, x):
    """bias_i + sum_j w_ij x_j over the flat CHW input: int64 [N, n_out]."""
    weights = layer.int8_weights().astype(np.int64)
    bias = layer.params_i32()[:layer.out_shape[0]].astype(np.int64)
    return x.reshape(len(x), -1) @ weights.T + bias


def int8_conv_acc(layer, x):
    """Valid, stride-1 K x K convolution plus bias: int64 [N, OC, OH, OW]."""
    weights = layer.int8_weights().astype(np.int64)  # [OC, C, K, K]
    oc, c, k, _ = weights.shape
    n = len(x)
    _, oh, ow = layer.out_shape
    # windows[n, c, y, x, ky, kx] = x[n, c, y + ky, x + kx]
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))
    patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k)
    acc = (patches @ weights.reshape(oc, c * k * k).T).reshape(n, oh, ow, oc)
    bias, _, _ = layer.requantization()
    return acc.transpose(0, 3, 1, 2) + bias.reshape(1, oc, 1, 1)


def maxpool(layer, x):
    """The maximum of each non-overlapping P x P window: [N, C, H, W] -> [N, C, H/P, W/P]."""
    p = layer.args[0]
    n, c, h, w = x.shape
    return x.reshape(n, c, h // p, p, w // p, p).max(axis=(3, 5))


def _layer_output(layer, activation):
    """One layer on a batch: bit layers keep packed words [N, words], int8 layers int64 arrays."""
    if layer.op == pim.OP_INPUT_BINARIZE:
        return pack_words(activation.reshape(len(activation), -1) >= layer.args[0])
    if layer.op == pim.OP_BNN_DENSE:
        return pack_words(binarized_dot(layer, activation) >= layer.params_i32())
    if layer.op == pim.OP_BNN_DENSE_SCORES:
        # The reader bounds biases to +-2^24, so this sum cannot overflow int32.
        return binarized_dot(layer, activation) + layer.params_i32()
    if layer.op == pim.OP_INPUT_QUANTIZE:
        return input_quantize(layer, activation)
    if layer.op == pim.OP_INT8_DENSE:
        _, multiplier, shift = layer.requantization()
        acc = int8_dense_acc(layer, activation)
        return requantize(acc, multiplier, shift, layer.relu).reshape(len(acc), -1, 1, 1)
    if layer.op == pim.OP_INT8_DENSE_SCORES:
        return int8_dense_acc(layer, activation)
    if layer.op == pim.OP_INT8_CONV:
        _, multiplier, shift = layer.requantization()
        return requantize(int8_conv_acc(layer, activation), multiplier, shift, layer.relu)
    if layer.op == pim.OP_MAXPOOL:
        return maxpool(layer, activation)
    raise ValueError(f"op {layer.op} has no reference implementation")


# Images per chunk: bounds the memory of the convolutions' patch matrices.
_CHUNK = 500


def scores(model, images):
    """Runs `model` (a pim.Model) on uint8 images [N, C, H, W] (or [N, H, W] when C = 1).

    Returns the int32 class scores [N, num_classes].
    """
    images = np.asarray(images)
    expected = tuple(model.input_shape)
    shape = images.shape[1:]
    single_channel = expected[0] == 1 and shape == expected[1:]
    if images.dtype != np.uint8 or not (shape == expected or single_channel):
        raise ValueError(f"images are {images.dtype} {list(images.shape)}; the model takes uint8 "
                         f"[N, {', '.join(map(str, expected))}]")
    images = images.reshape(len(images), *expected)
    chunks = []
    for start in range(0, len(images), _CHUNK):
        activation = images[start:start + _CHUNK]
        for layer in model.layers:
            activation = _layer_output(layer, activation)
        chunks.append(activation.astype(np.int32))
    if not chunks:
        return np.zeros((0, model.num_classes), dtype=np.int32)
    return np.concatenate(chunks)


def predict(class_scores):
    """Returns the predicted class per row: the highest score, ties to the lowest index."""
    return np.argmax(class_scores, axis=1)  # argmax returns the first maximum.


def accuracy(class_scores, labels):
    """Returns the fraction of rows whose predicted class equals the label."""
    return float(np.mean(predict(class_scores) == np.asarray(labels)))


def check_zoo(update_golden):
    """Runs every model of zoo.tsv on its test images; prints its accuracy and whether its scores
    equal its golden file, or rewrites the golden files. Returns 0 if all match and reach their
    targets (or were rewritten), 1 otherwise."""
    status = 0
    for entry in zoo.read():
        model = pim.read(entry.model)
        class_scores = scores(model, idx.read(entry.images))
        percent = 100 * accuracy(class_scores, idx.read(entry.labels))
        if update_golden:
            idx.write(entry.golden, class_scores)
            golden = "written"
        else:
            same = (os.path.exists(entry.golden) and
                    np.array_equal(idx.read(entry.golden), class_scores))
            golden = "identical" if same else "DIFFERENT"
            status |= 0 if same else 1
        met = percent >= entry.min_accuracy_pct
        status |= 0 if met else 1
        print(f"{entry.name:20s} {len(class_scores):6d} images  accuracy {percent:6.2f}% "
              f"(target {entry.min_accuracy_pct:.1f}%{'' if met else ', MISSED'})  "
              f"golden: {golden}")
    return status


def main(argv):
    parser = argparse.ArgumentParser(
        description="Integer reference: run a .pim model on IDX images, report accuracy, write "
                    "golden scores; or check every shipped model (--zoo).")
    parser.add_argument("--zoo", action="store_true",
                        help="run every model of models/zoo.tsv on its test images and compare "
                             "with its golden file")
    parser.add_argument("--update-golden", action="store_true",
                        help="with --zoo: rewrite the golden files instead of comparing")
    parser.add_argument("--model", help="the .pim model file")
    parser.add_argument("--images", help="uint8 IDX images [N, C, H, W], or [N, H, W] when C = 1 "
                                         "(gzipped or not)")
    parser.add_argument("--labels", help="uint8 IDX labels [N]; prints the accuracy")
    parser.add_argument("--golden-out", help="writes the scores here as IDX int32 [N, num_classes]")
    args = parser.parse_args(argv)
    if args.zoo:
        return check_zoo(args.update_golden)
    if not args.model or not args.images:
        parser.error("--model and --images are required without --zoo")

    model = pim.read(args.model)
    class_scores = scores(model, idx.read(args.images))
    print(f"{args.model}: {len(class_scores)} images, {model.num_classes} classes")
    if args.labels:
        labels = idx.read(args.labels)
        if labels.shape != (len(class_scores),):
            raise ValueError(f"labels have shape {list(labels.shape)}; "
                             f"expected [{len(class_scores)}]")
        print(f"integer accuracy: {accuracy(class_scores, labels):.4f}")
    if args.golden_out:
        idx.write(args.golden_out, class_scores)
        print(f"wrote {args.golden_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
