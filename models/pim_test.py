"""Tests of pim.py: round trip, the exact byte layout, rejection of bad files with the right
error (the C++ loader's absl code)."""

import os
import struct
import tempfile
import unittest
import zlib

import numpy as np

import pim

SHIPPED_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zoo", "mnist-bnn-tfc.pim")

# Byte offsets of fields the tests patch.
FORMAT_VERSION_AT = 8
ENGINE_ABI_AT = 10
FILE_BYTES_AT = 16
RESERVED_AT = 44


def tiny_model():
    """A 3-layer model whose hidden layer has 70 inputs, so its rows need padding bits."""
    rng = np.random.default_rng(7)
    return pim.Model(
        name="tiny-test_1.0", version="0.1-beta", description="test model, µ-sized",
        input_shape=(2, 5, 7), labels=["cat", "dog", "ünïcode"],
        layers=[pim.input_binarize((2, 5, 7), threshold=100),
                pim.bnn_dense(rng.random((9, 70)) < 0.5, thresholds=rng.integers(-70, 71, 9)),
                pim.bnn_dense_scores(rng.random((3, 9)) < 0.5, biases=[-5, 0, pim.MAX_PARAM_MAGNITUDE])])


def layer_at(data, index):
    """Byte offset of layer descriptor `index` in an encoded file."""
    program_offset, = struct.unpack_from("<I", data, 28)
    return program_offset + pim.PROGRAM_HEADER_BYTES + pim.LAYER_BYTES * index


def patched(data, offset, fmt, value, fix_crc=True):
    """Returns `data` with `value` packed at `offset`, and (by default) the CRC recomputed."""
    data = bytearray(data)
    struct.pack_into(fmt, data, offset, value)
    if fix_crc:
        struct.pack_into("<I", data, len(data) - 4, zlib.crc32(data[:-4]))
    return bytes(data)


class RoundTripTest(unittest.TestCase):

    def test_write_then_read_gives_the_same_model_and_bytes(self):
        model = tiny_model()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tiny.pim")
            pim.write(path, model)
            read_back = pim.read(path)
            with open(path, "rb") as f:
                data = f.read()
        self.assertEqual(read_back, model)
        self.assertEqual(pim.encode(read_back), data)

    def test_layout_follows_the_spec(self):
        model = tiny_model()
        data = pim.encode(model)
        (magic, fmt, abi, header_bytes, file_bytes, meta_offset, meta_bytes, program_offset,
         program_bytes, weights_offset, weights_bytes) = struct.unpack_from("<8sHHIIIIIIII", data)
        self.assertEqual((magic, fmt, abi, header_bytes), (b"PYNQMDL\0", 1, 1, 64))
        self.assertEqual(file_bytes, len(data))
        self.assertEqual(meta_offset, 64)
        self.assertEqual(program_offset, meta_offset + meta_bytes)
        self.assertEqual(program_bytes, 16 + 64 * 3)
        self.assertEqual(weights_offset % 64, 0)
        self.assertEqual(weights_offset + weights_bytes + 4, file_bytes)
        self.assertEqual(struct.unpack_from("<I", data, file_bytes - 4)[0],
                         zlib.crc32(data[:file_bytes - 4]))
        # META starts with the name as a u16 length and its bytes.
        self.assertEqual(data[64:66 + len("tiny-test_1.0")], b"\x0d\x00tiny-test_1.0")
        # Layer 1 (BNN_DENSE 70 -> 9): 9 rows of 2 u64 words, 9 i32 thresholds, both 64-aligned.
        fields = struct.unpack_from("<12I3iI", data, layer_at(data, 1))
        self.assertEqual(fields[:8], (pim.OP_BNN_DENSE, 0, 70, 1, 1, 9, 1, 1))
        self.assertEqual(fields[9], 9 * 2 * 8)
        self.assertEqual(fields[11], 9 * 4)
        self.assertEqual((fields[8] % 64, fields[10] % 64), (0, 0))
        thresholds = np.frombuffer(data, "<i4", 9, weights_offset + fields[10])
        np.testing.assert_array_equal(thresholds, model.layers[1].params_i32())

    def test_bit_layout(self):
        # Element j is bit j % 64 of little-endian u64 word j / 64; padding bits are 0.
        bits = np.zeros((2, 70), dtype=bool)
        bits[0, 0] = bits[0, 65] = True
        bits[1, 63] = bits[1, 69] = True
        words = np.frombuffer(pim.pack_bits(bits), dtype="<u8").reshape(2, 2)
        np.testing.assert_array_equal(words, [[1, 1 << 1], [1 << 63, 1 << 5]])
        np.testing.assert_array_equal(pim.unpack_bits(pim.pack_bits(bits), 2, 70), bits)

    def test_shipped_model_is_valid(self):
        model = pim.read(SHIPPED_MODEL)
        self.assertEqual(model.name, "mnist-bnn-tfc")
        self.assertEqual(model.input_shape, (1, 28, 28))
        self.assertEqual(model.labels, [str(d) for d in range(10)])
        self.assertEqual([(layer.op, layer.in_shape, layer.out_shape) for layer in model.layers],
                         [(pim.OP_INPUT_BINARIZE, (1, 28, 28), (784, 1, 1)),
                          (pim.OP_BNN_DENSE, (784, 1, 1), (64, 1, 1)),
                          (pim.OP_BNN_DENSE_SCORES, (64, 1, 1), (10, 1, 1))])
        self.assertEqual(model.layers[0].args, (128, 0, 0))


class RejectionTest(unittest.TestCase):

    def setUp(self):
        self.data = pim.encode(tiny_model())

    def assertRejected(self, data, error, message_part):
        with self.assertRaises(error) as caught:
            pim.decode(data)
        self.assertIn(message_part, str(caught.exception))
        self.assertIsInstance(caught.exception, ValueError)

    def test_truncated(self):
        self.assertRejected(self.data[:-1], pim.DataLossError,
                            f"shorter than file_bytes = {len(self.data)}")
        self.assertRejected(self.data[:63], pim.DataLossError, "shorter than the 64-byte header")
        self.assertRejected(b"", pim.DataLossError, "0 bytes")

    def test_corrupted_byte_fails_the_crc(self):
        data = bytearray(self.data)
        data[len(data) - 40] ^= 0x10
        self.assertRejected(bytes(data), pim.DataLossError, "CRC-32")

    def test_wrong_magic(self):
        self.assertRejected(b"PYNQMDX\0" + self.data[8:], pim.InvalidModelError, "magic")

    def test_unsupported_versions(self):
        self.assertRejected(patched(self.data, FORMAT_VERSION_AT, "<H", 2),
                            pim.UnsupportedModelError, "format_version is 2")
        self.assertRejected(patched(self.data, ENGINE_ABI_AT, "<H", 3),
                            pim.UnsupportedModelError, "engine_abi_version is 3")

    def test_unknown_op(self):
        self.assertRejected(patched(self.data, layer_at(self.data, 1), "<I", 99),
                            pim.UnsupportedModelError, "op is 99")

    def test_file_longer_than_file_bytes(self):
        self.assertRejected(self.data + b"\0", pim.InvalidModelError, "longer than file_bytes")

    def test_section_past_the_end(self):
        self.assertRejected(patched(self.data, 40, "<I", 1 << 20), pim.DataLossError,
                            "WEIGHTS section")

    def test_nonzero_reserved(self):
        self.assertRejected(patched(self.data, RESERVED_AT, "<I", 1), pim.InvalidModelError,
                            "header reserved")
        self.assertRejected(patched(self.data, layer_at(self.data, 2) + 60, "<I", 5),
                            pim.InvalidModelError, "reserved is 5")

    def test_inconsistent_shapes(self):
        # Layer 2 takes 8 inputs, but layer 1 produces 9.
        model = tiny_model()
        model.layers[2] = pim.bnn_dense_scores(np.ones((3, 8), bool), [0, 0, 0])
        with self.assertRaisesRegex(pim.InvalidModelError, r"input shape is \(8, 1, 1\); expected "
                                    r"the previous layer's output \(9, 1, 1\)"):
            pim.encode(model)
        # Layer 2 claims 65 inputs: its weights would need 2 words per row.
        self.assertRejected(patched(self.data, layer_at(self.data, 2) + 8, "<I", 65),
                            pim.InvalidModelError, "weights_bytes is 24; expected 48")
        # Layer 1's output height must be 1.
        self.assertRejected(patched(self.data, layer_at(self.data, 1) + 24, "<I", 2),
                            pim.InvalidModelError, "output shape is (9, 2, 1)")

    def test_nonzero_weight_padding_bits(self):
        weights_offset, = struct.unpack_from("<I", self.data, 36)
        row0_word1, = struct.unpack_from("<Q", self.data, weights_offset + 8)
        self.assertRejected(patched(self.data, weights_offset + 8, "<Q", row0_word1 | 1 << 63),
                            pim.InvalidModelError, "padding bits")

    def test_params_out_of_range(self):
        # The scores layer's biases are the last params blob; its first bias is set past 2^24.
        params_offset, = struct.unpack_from("<I", self.data, layer_at(self.data, 2) + 40)
        weights_offset, = struct.unpack_from("<I", self.data, 36)
        self.assertRejected(
            patched(self.data, weights_offset + params_offset, "<i", pim.MAX_PARAM_MAGNITUDE + 1),
            pim.InvalidModelError, "outside +-16777216")
        with self.assertRaisesRegex(ValueError, "outside"):
            pim.bnn_dense_scores(np.ones((1, 3), bool), [-pim.MAX_PARAM_MAGNITUDE - 1])

    def test_misaligned_blob(self):
        self.assertRejected(patched(self.data, layer_at(self.data, 1) + 32, "<I", 8),
                            pim.InvalidModelError, "weights_offset is 8")

    def test_bad_input_threshold(self):
        self.assertRejected(patched(self.data, layer_at(self.data, 0) + 48, "<i", 0),
                            pim.InvalidModelError, "arg[0] is 0")

    def test_bad_meta(self):
        model = tiny_model()
        model.name = "Tiny"
        with self.assertRaisesRegex(pim.InvalidModelError, "name is b'Tiny'"):
            pim.encode(model)
        model = tiny_model()
        model.labels = model.labels[:2]
        with self.assertRaisesRegex(pim.InvalidModelError, "expected num_classes = 2"):
            pim.encode(model)

    def test_scores_op_must_be_last(self):
        model = tiny_model()
        model.layers = [model.layers[0], pim.bnn_dense_scores(np.ones((70, 70), bool), [0] * 70),
                        pim.bnn_dense_scores(np.ones((3, 70), bool), [0] * 3)]
        with self.assertRaisesRegex(pim.InvalidModelError, "must be the last layer"):
            pim.encode(model)


if __name__ == "__main__":
    unittest.main()
