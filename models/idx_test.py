"""Tests of idx.py: the exact IDX bytes, round trips and rejection of malformed files."""

import gzip
import os
import tempfile
import unittest

import numpy as np

import idx


class IdxTest(unittest.TestCase):

    def test_uint8_bytes_and_round_trip(self):
        images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
        data = idx.encode(images)
        self.assertEqual(data[:16], bytes([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]))
        self.assertEqual(data[16:], bytes(range(24)))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "images.idx3-ubyte")
            idx.write(path, images)
            read_back = idx.read(path)
        self.assertEqual(read_back.dtype, np.uint8)
        np.testing.assert_array_equal(read_back, images)

    def test_int32_is_big_endian(self):
        scores = np.array([[1, -2], [2**31 - 1, -2**31]], dtype=np.int32)
        data = idx.encode(scores)
        self.assertEqual(data, bytes([0, 0, 0x0C, 2, 0, 0, 0, 2, 0, 0, 0, 2,
                                      0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE,
                                      0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0, 0, 0]))
        read_back = idx.decode(data)
        self.assertEqual(read_back.dtype, np.dtype(np.int32))
        np.testing.assert_array_equal(read_back, scores)

    def test_reads_gzipped_files(self):
        labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "labels.idx1-ubyte.gz")
            with open(path, "wb") as f:
                f.write(gzip.compress(idx.encode(labels)))
            read_back = idx.read(path)
            truncated = os.path.join(tmp, "truncated.gz")
            with open(truncated, "wb") as f:
                f.write(gzip.compress(idx.encode(labels)[:-1]))
            with self.assertRaisesRegex(ValueError, "truncated.gz: 12 bytes; shape \\[5\\]"):
                idx.read(truncated)
        np.testing.assert_array_equal(read_back, labels)

    def test_rejects_unsupported_dtype(self):
        with self.assertRaisesRegex(ValueError, "dtype float32 is not supported"):
            idx.encode(np.zeros(3, dtype=np.float32))

    def test_rejects_malformed(self):
        good = idx.encode(np.zeros((2, 2), dtype=np.uint8))
        with self.assertRaisesRegex(ValueError, "7 bytes, shorter than its 12-byte header"):
            idx.decode(good[:7])
        with self.assertRaisesRegex(ValueError, "15 bytes; shape \\[2, 2\\] of uint8 needs 16"):
            idx.decode(good[:-1])
        with self.assertRaisesRegex(ValueError, "element type 0x0D"):
            idx.decode(bytes([0, 0, 0x0D]) + good[3:])
        with self.assertRaisesRegex(ValueError, "magic starts with 0100"):
            idx.decode(b"\x01" + good[1:])


if __name__ == "__main__":
    unittest.main()
