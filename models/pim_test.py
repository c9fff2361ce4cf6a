"""Tests of pim.py: round trip, the exact byte layout, rejection of bad files with the right
error (the C++ loader's absl code)."""

import dataclasses
import os
import struct
import tempfile
import unittest
import zlib
from unittest import mock

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


def tiny_int8_model():
    """INPUT_QUANTIZE (2, 6, 6), INT8_CONV 3x3 -> (3, 4, 4), MAXPOOL 2 -> (3, 2, 2), INT8_DENSE
    -> 5, INT8_DENSE_SCORES -> 3."""
    rng = np.random.default_rng(11)
    weights = lambda *shape: rng.integers(-128, 128, shape).astype(np.int8)  # noqa: E731
    return pim.Model(
        name="tiny-int8", version="1", description="", input_shape=(2, 6, 6),
        labels=["a", "b", "c"],
        layers=[pim.input_quantize((2, 6, 6), multiplier=300, shift=9),
                pim.int8_conv(weights(3, 2, 3, 3), (2, 6, 6), bias=[1, -2, 3],
                              multiplier=[1 << 30, 5, pim.MAX_MULTIPLIER], shift=[40, 0, 62],
                              relu=True),
                pim.maxpool((3, 4, 4), 2),
                pim.int8_dense(weights(5, 12), (3, 2, 2), bias=rng.integers(-99, 99, 5),
                               multiplier=[7] * 5, shift=[9] * 5, relu=False),
                pim.int8_dense_scores(weights(3, 5), (5, 1, 1), bias=[0, 1, -1])])


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
        self.assertEqual((magic, fmt, abi, header_bytes), (b"PYNQMDL\0", 2, 1, 64))
        self.assertEqual(file_bytes, len(data))
        self.assertEqual(meta_offset, 64)
        self.assertEqual(program_offset, meta_offset + meta_bytes)
        self.assertEqual(program_bytes, 16 + 64 * 3)
        self.assertEqual(weights_offset % 64, 0)
        self.assertEqual(weights_offset + weights_bytes + 4, file_bytes)
        self.assertEqual(struct.unpack_from("<I", data, file_bytes - 4)[0],
                         zlib.crc32(data[:file_bytes - 4]))
        # META starts with the name as a u16 length and its bytes, and ends with the six u32 of
        # the preprocessing record (none: all 0).
        self.assertEqual(data[64:66 + len("tiny-test_1.0")], b"\x0d\x00tiny-test_1.0")
        self.assertEqual(data[program_offset - 24:program_offset], bytes(24))
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
        self.assertEqual(model.preprocess, pim.MNIST_PREPROCESS)


class PreprocessTest(unittest.TestCase):
    """The META preprocessing record of format v2, and format v1 files without it."""

    def mnist_model(self):
        model = tiny_model()
        model.input_shape = (1, 28, 28)
        model.layers[0] = pim.input_binarize((1, 28, 28), threshold=100)
        rng = np.random.default_rng(3)
        model.layers[1] = pim.bnn_dense(rng.random((9, 784)) < 0.5,
                                        thresholds=rng.integers(-70, 71, 9))
        model.preprocess = pim.MNIST_PREPROCESS
        return model

    def test_record_round_trips_and_follows_the_spec(self):
        model = self.mnist_model()
        data = pim.encode(model)
        self.assertEqual(pim.decode(data).preprocess, pim.MNIST_PREPROCESS)
        program_offset, = struct.unpack_from("<I", data, 28)
        self.assertEqual(struct.unpack_from("<6I", data, program_offset - 24), (1, 20, 20, 1, 1, 0))
        model.preprocess = pim.FASHION_PREPROCESS
        self.assertEqual(pim.decode(pim.encode(model)).preprocess, pim.FASHION_PREPROCESS)

    def test_format_v1_means_none(self):
        """A v1 file is a v2 file without the record, and with version 1."""
        encode_meta = pim._encode_meta
        with mock.patch.object(pim, "FORMAT_VERSION", 1), \
                mock.patch.object(pim, "_encode_meta", lambda m: encode_meta(m)[:-24]):
            v1 = pim.encode(tiny_model())
        self.assertEqual(struct.unpack_from("<H", v1, FORMAT_VERSION_AT)[0], 1)
        model = pim.decode(v1)
        self.assertEqual(model.preprocess, pim.Preprocess())
        self.assertEqual(model, tiny_model())
        # Re-encoding writes v2 with the record "none".
        self.assertEqual(pim.decode(pim.encode(model)), model)
        self.assertEqual(len(pim.encode(model)), len(pim.encode(tiny_model())))

    def test_rejects_inconsistent_records(self):
        for preprocess, message in [
                (pim.Preprocess(method=2), "preprocess is 2; expected 0..1"),
                (pim.Preprocess(box_height=20), "box_height is 20; expected 0..0"),
                (dataclasses.replace(pim.MNIST_PREPROCESS, box_width=29),
                 "box_width is 29; expected 1..28"),
                (dataclasses.replace(pim.MNIST_PREPROCESS, box_height=0),
                 "box_height is 0; expected 1..28"),
                (dataclasses.replace(pim.MNIST_PREPROCESS, placement=2),
                 "placement is 2; expected 0..1"),
                (dataclasses.replace(pim.MNIST_PREPROCESS, levels=2), "levels is 2; expected 0..1"),
                (dataclasses.replace(pim.MNIST_PREPROCESS, foreground=5),
                 "foreground is 5; expected 0..1")]:
            model = self.mnist_model()
            model.preprocess = preprocess
            with self.assertRaisesRegex(pim.InvalidModelError, message):
                pim.encode(model)
        model = tiny_model()  # 2 input channels
        model.preprocess = pim.FASHION_PREPROCESS
        with self.assertRaisesRegex(pim.InvalidModelError, "input_channels is 2"):
            pim.encode(model)


class Int8LayoutTest(unittest.TestCase):

    def test_round_trip(self):
        model = tiny_int8_model()
        data = pim.encode(model)
        self.assertEqual(pim.decode(data), model)
        self.assertEqual(pim.encode(pim.decode(data)), data)

    def test_descriptors_and_blobs_follow_the_spec(self):
        model = tiny_int8_model()
        data = pim.encode(model)
        weights_offset, = struct.unpack_from("<I", data, 36)
        fields = [struct.unpack_from("<12I3iI", data, layer_at(data, i)) for i in range(5)]
        # op, flags, in (c, h, w), out (c, h, w) and args of each layer.
        self.assertEqual([f[:8] + f[12:15] for f in fields], [
            (pim.OP_INPUT_QUANTIZE, 0, 2, 6, 6, 2, 6, 6, 300, 9, 0),
            (pim.OP_INT8_CONV, 0, 2, 6, 6, 3, 4, 4, 3, 1, 0),
            (pim.OP_MAXPOOL, 0, 3, 4, 4, 3, 2, 2, 2, 0, 0),
            (pim.OP_INT8_DENSE, 0, 3, 2, 2, 5, 1, 1, 0, 0, 0),
            (pim.OP_INT8_DENSE_SCORES, 0, 5, 1, 1, 3, 1, 1, 0, 0, 0)])
        # Blob sizes: conv weights [3][2][3][3] and 12 bytes of params per channel; dense
        # [5][12]; scores [3][5] and 4 bytes per class; no blobs for the input op and the pool.
        self.assertEqual([(f[9], f[11]) for f in fields],
                         [(0, 0), (54, 36), (0, 0), (60, 60), (15, 12)])
        conv = fields[1]
        params = np.frombuffer(data, "<i4", 9, weights_offset + conv[10])
        np.testing.assert_array_equal(params, [1, -2, 3, 1 << 30, 5, pim.MAX_MULTIPLIER, 40, 0, 62])
        conv_weights = np.frombuffer(data, np.int8, 54, weights_offset + conv[8])
        np.testing.assert_array_equal(conv_weights,
                                      model.layers[1].int8_weights().reshape(-1))
        bias, multiplier, shift = pim.decode(data).layers[1].requantization()
        np.testing.assert_array_equal(shift, [40, 0, 62])

    def test_constructors_reject_bad_values(self):
        w = np.zeros((2, 3), np.int8)
        with self.assertRaisesRegex(ValueError, r"multipliers outside 1..2147483647: \[0, 1\]"):
            pim.int8_dense(w, (3, 1, 1), [0, 0], [0, 1], [0, 0], relu=True)
        with self.assertRaisesRegex(ValueError, r"shifts outside 0..62: \[0, 63\]"):
            pim.int8_dense(w, (3, 1, 1), [0, 0], [1, 1], [0, 63], relu=True)
        with self.assertRaisesRegex(ValueError, "expected int8"):
            pim.int8_dense_scores(w.astype(np.int16), (3, 1, 1), [0, 0])
        with self.assertRaisesRegex(ValueError, r"the input \(2, 1, 1\) has 2 elements"):
            pim.int8_dense_scores(w, (2, 1, 1), [0, 0])


class Int8RejectionTest(unittest.TestCase):
    """Each rule of MODEL_FORMAT.md "Int8 ops", broken once."""

    def assertRejected(self, edit, message_part):
        model = tiny_int8_model()
        edit(model)
        with self.assertRaises(pim.InvalidModelError) as caught:
            pim.encode(model)
        self.assertIn(message_part, str(caught.exception))

    def test_tensor_kinds_do_not_mix(self):
        def model(layers, input_shape):
            return pim.Model(name="mixed", version="1", description="", input_shape=input_shape,
                             labels=["a", "b", "c"], layers=layers)

        binarized_after_quantize = model([pim.input_quantize((4, 1, 1), 1, 0),
                                          pim.bnn_dense_scores(np.ones((3, 4), bool), [0] * 3)],
                                         (4, 1, 1))
        with self.assertRaisesRegex(pim.InvalidModelError,
                                    r"layer 1 \(BNN_DENSE_SCORES\): takes bits, but layer 0 "
                                    r"\(INPUT_QUANTIZE\) does not produce bits"):
            pim.encode(binarized_after_quantize)
        int8_after_binarize = model([pim.input_binarize((2, 6, 6), 9),
                                     pim.int8_dense_scores(np.ones((3, 72), np.int8), (72, 1, 1),
                                                           [0] * 3)], (2, 6, 6))
        with self.assertRaisesRegex(pim.InvalidModelError,
                                    r"layer 1 \(INT8_DENSE_SCORES\): takes int8, but layer 0 "
                                    r"\(INPUT_BINARIZE\) does not produce int8"):
            pim.encode(int8_after_binarize)

    def test_input_quantize_args(self):
        for args, message in (((0, 9, 0), "arg[0] is 0; expected 1..65536"),
                              ((65537, 9, 0), "arg[0] is 65537; expected 1..65536"),
                              ((300, 32, 0), "arg[1] is 32; expected 0..31"),
                              ((300, 9, 1), "arg[2] is 1; expected 0..0")):
            def edit(m, args=args):
                m.layers[0].args = args
            self.assertRejected(edit, message)

    def test_int8_args(self):
        cases = ((1, (0, 1, 0), "layer 1 (INT8_CONV): arg[0] is 0; expected 1..7"),
                 (1, (8, 1, 0), "arg[0] is 8; expected 1..7"),
                 (1, (3, 2, 0), "arg[1] is 2; expected 0..1"),
                 (2, (1, 0, 0), "layer 2 (MAXPOOL): arg[0] is 1; expected 2..4"),
                 (2, (2, 1, 0), "arg[1] is 1; expected 0..0"),
                 (3, (1, 0, 0), "layer 3 (INT8_DENSE): arg[0] is 1; expected 0..0"),
                 (4, (0, 1, 0), "layer 4 (INT8_DENSE_SCORES): arg[1] is 1; expected 0..0"))
        for index, args, message in cases:
            def edit(m, index=index, args=args):
                m.layers[index].args = args
            self.assertRejected(edit, message)

    def test_shapes(self):
        def conv_output(m):
            m.layers[1].out_shape = (3, 4, 3)
        self.assertRejected(conv_output, "output shape is (3, 4, 3); expected (3, 4, 4)")

        def pool_windows(m):
            m.layers[2].args = (3, 0, 0)
        self.assertRejected(pool_windows, "input (3, 4, 4) is not a whole number of 3x3 windows")

        def too_large(m):
            m.input_shape = (1, 65, 64)
            m.layers[0] = pim.input_quantize((1, 65, 64), 300, 9)
        self.assertRejected(too_large, "input shape is (1, 65, 64); expected at least 1 and at "
                                       "most 4096 elements")

        def quantize_reshapes(m):
            m.layers[0].out_shape = (72, 1, 1)
        self.assertRejected(quantize_reshapes, "output shape is (72, 1, 1); expected the "
                                               "input's (2, 6, 6)")

    def test_blob_sizes(self):
        def short_weights(m):
            m.layers[3].weights = m.layers[3].weights[:-1]
        self.assertRejected(short_weights, "layer 3 (INT8_DENSE): weights_bytes is 59; expected 60")

        def scores_with_requant_params(m):
            m.layers[4].params = m.layers[4].params * 3
        self.assertRejected(scores_with_requant_params, "params_bytes is 36; expected 12")

    def test_requantization_ranges(self):
        def params(bias, multiplier, shift):
            return np.array(bias + multiplier + shift, "<i4").tobytes()

        for blob, message in ((params([1, 2, 3], [0, 5, 5], [1, 1, 1]),
                               "layer 1 (INT8_CONV): multiplier[0] is 0; expected 1..2147483647"),
                              (params([1, 2, 3], [5, 5, -5], [1, 1, 1]),
                               "multiplier[2] is -5; expected 1..2147483647"),
                              (params([1, 2, 3], [5, 5, 5], [1, 63, 1]),
                               "shift[1] is 63; expected 0..62"),
                              (params([1, 2, 3], [5, 5, 5], [-1, 1, 1]),
                               "shift[0] is -1; expected 0..62"),
                              (params([1, 1 << 24 | 1, 3], [5, 5, 5], [1, 1, 1]),
                               "a threshold or bias lies outside +-16777216")):
            def edit(m, blob=blob):
                m.layers[1].params = blob
            self.assertRejected(edit, message)


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
        self.assertRejected(patched(self.data, FORMAT_VERSION_AT, "<H", 3),
                            pim.UnsupportedModelError, "format_version is 3")
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
