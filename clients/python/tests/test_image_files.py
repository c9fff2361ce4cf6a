"""pynq_infer.image_files: IDX, PGM and PNG decoding (no daemon needed)."""

import gzip
import os
import struct
import tempfile
import unittest

import numpy as np

import pynq_infer
from pynq_infer.png_writer import encode_png

RNG = np.random.default_rng(7)


def rec709(rgb):
    """libpng's 8-bit rgb_to_gray without gamma: the weighted sum, truncated."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((6968 * r + 23434 * g + 2366 * b) >> 15).astype(np.uint8)


class PngTest(unittest.TestCase):
    def decode(self, data):
        images = pynq_infer.decode_image(data, "t.png")
        self.assertEqual(images.dtype, np.uint8)
        self.assertEqual(images.shape[0], 1)
        return images[0]

    def test_gray8_every_filter_pixel_for_pixel(self):
        pixels = RNG.integers(0, 256, size=(28, 28, 1))
        for filters in ((0,), (1,), (2,), (3,), (4,), (0, 1, 2, 3, 4)):
            with self.subTest(filters=filters):
                decoded = self.decode(encode_png(pixels, color=0, filters=filters))
                np.testing.assert_array_equal(decoded, pixels[..., 0])

    def test_low_bit_depth_gray_expands_to_8_bits(self):
        for depth in (1, 2, 4):
            pixels = RNG.integers(0, 1 << depth, size=(5, 11, 1))
            decoded = self.decode(encode_png(pixels, color=0, depth=depth, filters=(0, 1, 4)))
            np.testing.assert_array_equal(decoded, pixels[..., 0] * (255 // ((1 << depth) - 1)))

    def test_16_bit_gray_is_rounded(self):
        pixels = np.array([[[0], [128], [65535], [32767], [257 * 77 + 128], [257 * 77 + 129]]])
        decoded = self.decode(encode_png(pixels, color=0, depth=16, filters=(1,)))
        np.testing.assert_array_equal(decoded[0], [0, 0, 255, 127, 77, 78])

    def test_colour_is_weighted_like_libpng_and_alpha_dropped(self):
        rgb = RNG.integers(0, 256, size=(7, 9, 3))
        expected = rec709(rgb)
        np.testing.assert_array_equal(self.decode(encode_png(rgb, color=2, filters=(4, 3))),
                                      expected)
        rgba = np.concatenate([rgb, RNG.integers(0, 256, size=(7, 9, 1))], axis=2)
        np.testing.assert_array_equal(self.decode(encode_png(rgba, color=6, filters=(1,))),
                                      expected)
        gray_alpha = np.concatenate([rgb[..., :1], rgb[..., 1:2]], axis=2)
        np.testing.assert_array_equal(self.decode(encode_png(gray_alpha, color=4)),
                                      rgb[..., 0])

    def test_16_bit_colour_is_weighted_before_it_is_rounded_to_8_bits(self):
        rgb = np.array([[[65535, 0, 0], [0, 65535, 0], [1000, 40000, 65535], [300, 300, 300]]])
        sums = 6968 * rgb[..., 0] + 23434 * rgb[..., 1] + 2366 * rgb[..., 2]
        gray16 = (sums + 16384) >> 15
        decoded = self.decode(encode_png(rgb, color=2, depth=16))
        np.testing.assert_array_equal(decoded[0], ((gray16 * 255 + 32895) >> 16)[0])
        # What libpng gives for these (checked with the C++ client's transforms).
        self.assertEqual(decoded[0].tolist(), [54, 182, 131, 1])

    def test_palette_is_expanded(self):
        palette = RNG.integers(0, 256, size=(16, 3))
        indices = RNG.integers(0, 16, size=(6, 5, 1))
        for depth in (4, 8):
            decoded = self.decode(encode_png(indices, color=3, depth=depth, palette=palette))
            np.testing.assert_array_equal(decoded, rec709(palette[indices[..., 0]]))

    def test_broken_files_raise_value_error_naming_the_file(self):
        good = encode_png(RNG.integers(0, 256, size=(4, 4, 1)), color=0)
        cases = {
            "truncated": good[:len(good) - 20],
            "bad CRC": good[:40] + bytes([good[40] ^ 1]) + good[41:],
            "interlaced": good[:28] + b"\x01" + good[29:],
        }
        for what, data in cases.items():
            with self.subTest(what):
                with self.assertRaisesRegex(ValueError, "t.png"):
                    pynq_infer.decode_image(data, "t.png")
        with self.assertRaisesRegex(ValueError, "palette"):
            pynq_infer.decode_image(encode_png(np.zeros((2, 2, 1), int), color=3), "t.png")


class PgmAndIdxTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir.name, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_pgm_with_comments(self):
        pixels = RNG.integers(0, 256, size=(3, 4), dtype=np.uint8)
        path = self.write("a.pgm", b"P5\n# made by a test\n4 3\n255\n" + pixels.tobytes())
        np.testing.assert_array_equal(pynq_infer.read_image_file(path), pixels[np.newaxis])

    def test_pgm_refusals(self):
        for what, data in {"maxval": b"P5 1 1 65535\n\0\0", "size": b"P5 2 2 255\n\0",
                           "header": b"P5 2\n"}.items():
            with self.subTest(what):
                with self.assertRaisesRegex(ValueError, "b.pgm"):
                    pynq_infer.read_image_file(self.write("b.pgm", data))

    def test_idx_gzipped_or_not(self):
        images = RNG.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
        data = b"\0\0\x08\x03" + struct.pack(">III", 3, 28, 28) + images.tobytes()
        for name, content in (("i.idx", data), ("i.idx.gz", gzip.compress(data))):
            np.testing.assert_array_equal(pynq_infer.read_image_file(self.write(name, content)),
                                          images)
        labels = b"\0\0\x08\x01" + struct.pack(">I", 3) + b"\x01\x02\x03"
        np.testing.assert_array_equal(pynq_infer.read_idx(self.write("l.idx", labels)), [1, 2, 3])
        scores = b"\0\0\x0c\x02" + struct.pack(">II", 1, 2) + struct.pack(">ii", -5, 7)
        np.testing.assert_array_equal(pynq_infer.read_idx(self.write("s.idx", scores)),
                                      [[-5, 7]])

    def test_idx_and_unknown_refusals(self):
        with self.assertRaisesRegex(ValueError, "needs 1568 data bytes"):
            pynq_infer.read_image_file(
                self.write("c.idx", b"\0\0\x08\x03" + struct.pack(">III", 2, 28, 28) + b"\0"))
        with self.assertRaisesRegex(ValueError, "not an image file"):
            pynq_infer.read_image_file(self.write("d.txt", b"hello"))
        with self.assertRaises(OSError):
            pynq_infer.read_image_file(os.path.join(self.dir.name, "missing.png"))


if __name__ == "__main__":
    unittest.main()
