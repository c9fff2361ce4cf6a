#!/usr/bin/python3
"""Integer reference implementation of a pynq-infer model (engine ABI v1).

It reads a `.pim` file through pim.py, so it also checks the file against the format, and computes
the class scores of a batch of images exactly as accel/MODEL_FORMAT.md defines each op, with numpy
integer operations only. Binarized layers work on the packed u64 words themselves: the input bits
are packed here with shifts (not with pim.pack_bits, so a bit-order mistake in the writer cannot
cancel out), and dot = n_in - 2 * popcount(row XOR input). Its scores are the golden values the C++
CPU backend, the FPGA engine and the end-to-end tests must reproduce bit for bit.

Example:
    /usr/bin/python3 models/reference.py --model models/zoo/mnist-bnn-tfc.pim \\
        --images models/data/mnist-heldout-images.idx3-ubyte \\
        --labels models/data/mnist-heldout-labels.idx1-ubyte \\
        --golden-out models/golden/mnist-bnn-tfc.heldout-scores.idx2-int
"""

import argparse
import sys

import numpy as np

import idx
import pim

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
    activation = images.reshape(len(images), -1)  # CHW order, one row per image.
    for layer in model.layers:
        if layer.op == pim.OP_INPUT_BINARIZE:
            activation = pack_words(activation >= layer.args[0])
        elif layer.op == pim.OP_BNN_DENSE:
            activation = pack_words(binarized_dot(layer, activation) >= layer.params_i32())
        elif layer.op == pim.OP_BNN_DENSE_SCORES:
            # The reader bounds biases to +-2^24, so this sum cannot overflow int32.
            activation = binarized_dot(layer, activation) + layer.params_i32()
        else:
            raise ValueError(f"op {layer.op} has no reference implementation")
    return activation.astype(np.int32)


def predict(class_scores):
    """Returns the predicted class per row: the highest score, ties to the lowest index."""
    return np.argmax(class_scores, axis=1)  # argmax returns the first maximum.


def accuracy(class_scores, labels):
    """Returns the fraction of rows whose predicted class equals the label."""
    return float(np.mean(predict(class_scores) == np.asarray(labels)))


def main(argv):
    parser = argparse.ArgumentParser(
        description="Integer reference: run a .pim model on IDX images, report accuracy, write "
                    "golden scores.")
    parser.add_argument("--model", required=True, help="the .pim model file")
    parser.add_argument("--images", required=True,
                        help="uint8 IDX images [N, C, H, W], or [N, H, W] when C = 1")
    parser.add_argument("--labels", help="uint8 IDX labels [N]; prints the accuracy")
    parser.add_argument("--golden-out", help="writes the scores here as IDX int32 [N, num_classes]")
    args = parser.parse_args(argv)

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
