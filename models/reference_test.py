"""Tests of reference.py: every shipped model reproduces its golden scores and reaches its target,
and the integer reference agrees with independent plain formulations of each op."""

import os
import unittest

import numpy as np

import datasets
import idx
import pim
import reference
import zoo

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))


def plus_minus_one_scores(model, images):
    """A binarized network written as ±1 integer matrix products, without bit packing."""
    x = np.where(images.reshape(len(images), -1) >= model.layers[0].args[0], 1, -1)
    for layer in model.layers[1:]:
        dot = x @ np.where(layer.weight_bits(), 1, -1).T
        if layer.op == pim.OP_BNN_DENSE:
            x = np.where(dot >= layer.params_i32(), 1, -1)
        else:
            x = dot + layer.params_i32()
    return x


def plain_int8_scores(model, images):
    """An int8 network written another way: convolutions as sums of shifted slices, rounding as a
    floor division by 2^n of Python integers, max-pool as a maximum over window offsets."""
    def round_shift(x, n):
        n = np.broadcast_to(n, x.shape)
        return np.vectorize(lambda v, s: (int(v) + (1 << s >> 1)) // (1 << s))(x, n)

    def requantize(acc, layer, axis_shape):
        _, multiplier, shift = layer.requantization()
        lo = 0 if layer.relu else -128
        return np.clip(round_shift(acc * multiplier.reshape(axis_shape),
                                   shift.reshape(axis_shape)), lo, 127)

    x = images.reshape(len(images), *model.input_shape).astype(np.int64)
    for layer in model.layers:
        if layer.op == pim.OP_INPUT_QUANTIZE:
            x = np.clip(round_shift(x * layer.args[0], layer.args[1]), -128, 127)
        elif layer.op in (pim.OP_INT8_DENSE, pim.OP_INT8_DENSE_SCORES):
            w = layer.int8_weights().astype(np.int64)
            acc = np.einsum("oj,nj->no", w, x.reshape(len(x), -1)) + layer.params_i32()[:len(w)]
            x = acc if layer.op == pim.OP_INT8_DENSE_SCORES else requantize(acc, layer, (1, -1))
        elif layer.op == pim.OP_INT8_CONV:
            w = layer.int8_weights().astype(np.int64)
            k = w.shape[2]
            _, oh, ow = layer.out_shape
            acc = np.zeros((len(x), len(w), oh, ow), dtype=np.int64)
            for ky in range(k):
                for kx in range(k):
                    acc += np.einsum("oc,nchw->nohw", w[:, :, ky, kx],
                                     x[:, :, ky:ky + oh, kx:kx + ow])
            acc += layer.requantization()[0].reshape(1, -1, 1, 1)
            x = requantize(acc, layer, (1, -1, 1, 1))
        elif layer.op == pim.OP_MAXPOOL:
            p = layer.args[0]
            x = np.max([x[:, :, dy::p, dx::p] for dy in range(p) for dx in range(p)], axis=0)
    return x


class ShippedModelsTest(unittest.TestCase):
    """Each model of zoo.tsv against its test images: golden scores exactly, accuracy target."""

    @classmethod
    def setUpClass(cls):
        cls.entries = zoo.read()

    def test_manifest_lists_every_model_file_and_only_those(self):
        shipped = sorted(f[:-len(".pim")] for f in os.listdir(os.path.join(MODELS_DIR, "zoo"))
                         if f.endswith(".pim"))
        self.assertEqual(sorted(e.name for e in self.entries), shipped)

    def test_manifest_agrees_with_the_data_sets(self):
        for entry in self.entries:
            model = pim.read(entry.model)
            self.assertEqual(model.name, entry.name)
            dataset = entry.name.split("-")[0]
            self.assertEqual((entry.images, entry.labels), datasets.test_files(dataset))
            self.assertEqual(entry.golden, datasets.golden_file(entry.name, dataset))
            labels = datasets.MNIST_LABELS if dataset == "mnist" else datasets.FASHION_LABELS
            self.assertEqual(model.labels, labels)

    def test_reproduces_golden_scores_and_reaches_target(self):
        for entry in self.entries:
            with self.subTest(model=entry.name):
                model = pim.read(entry.model)
                images = idx.read(entry.images)
                scores = reference.scores(model, images)
                golden = idx.read(entry.golden)
                self.assertEqual(golden.dtype, np.dtype(np.int32))
                self.assertEqual(golden.shape, (len(images), model.num_classes))
                np.testing.assert_array_equal(scores, golden)
                accuracy = 100 * reference.accuracy(scores, idx.read(entry.labels))
                self.assertGreaterEqual(accuracy, entry.min_accuracy_pct)

    def test_agrees_with_plain_formulations(self):
        mnist = idx.read(os.path.join(MODELS_DIR, "data", "mnist-heldout-images.idx3-ubyte"))
        for entry in self.entries:
            with self.subTest(model=entry.name):
                model = pim.read(entry.model)
                images = (mnist if entry.name.startswith("mnist") else idx.read(entry.images))[:20]
                plain = (plus_minus_one_scores if model.layers[0].op == pim.OP_INPUT_BINARIZE
                         else plain_int8_scores)
                np.testing.assert_array_equal(reference.scores(model, images),
                                              plain(model, images))


class ReferenceTest(unittest.TestCase):

    def test_random_bnn_with_padding_bits(self):
        # 3x5x7 = 105 input bits (2 words, 23 padding bits), hidden 66 (2 words), 4 classes.
        rng = np.random.default_rng(3)
        model = pim.decode(pim.encode(pim.Model(
            name="random", version="1", description="", input_shape=(3, 5, 7),
            labels=["a", "b", "c", "d"],
            layers=[pim.input_binarize((3, 5, 7), 77),
                    pim.bnn_dense(rng.random((66, 105)) < 0.5, rng.integers(-20, 21, 66)),
                    pim.bnn_dense_scores(rng.random((4, 66)) < 0.5, rng.integers(-9, 10, 4))])))
        images = rng.integers(0, 256, (50, 3, 5, 7), dtype=np.uint8)
        np.testing.assert_array_equal(reference.scores(model, images),
                                      plus_minus_one_scores(model, images))

    def test_random_int8_model(self):
        # Two input channels, a 3x3 convolution without ReLU, a 3x3 pool, a dense layer with
        # ReLU, and requantization parameters that put outputs on both sides of the clamps.
        rng = np.random.default_rng(8)
        weights = lambda *shape: rng.integers(-128, 128, shape).astype(np.int8)  # noqa: E731
        model = pim.decode(pim.encode(pim.Model(
            name="random-int8", version="1", description="", input_shape=(2, 8, 8),
            labels=["a", "b", "c"],
            layers=[pim.input_quantize((2, 8, 8), 181, 8),
                    pim.int8_conv(weights(4, 2, 3, 3), (2, 8, 8), rng.integers(-3000, 3000, 4),
                                  rng.integers(1 << 20, 1 << 22, 4), [32, 33, 31, 32],
                                  relu=False),
                    pim.maxpool((4, 6, 6), 3),
                    pim.int8_dense(weights(6, 16), (4, 2, 2), rng.integers(-3000, 3000, 6),
                                   rng.integers(1 << 20, 1 << 22, 6), [30] * 6, relu=True),
                    pim.int8_dense_scores(weights(3, 6), (6, 1, 1), [5, -5, 0])])))
        images = rng.integers(0, 256, (40, 2, 8, 8), dtype=np.uint8)
        np.testing.assert_array_equal(reference.scores(model, images),
                                      plain_int8_scores(model, images))

    def test_hand_computed_int8_scores(self):
        # Input 1x1x2 quantized as q = pixel * 3 / 4 (rounded half up); INT8_DENSE row (1, -1)
        # with bias 1 and M / 2^n = 1 / 2, ReLU; scores 2 * h and -h + 3.
        model = pim.decode(pim.encode(pim.Model(
            name="hand-int8", version="1", description="", input_shape=(1, 1, 2),
            labels=["x", "y"],
            layers=[pim.input_quantize((1, 1, 2), 3, 2),
                    pim.int8_dense(np.array([[1, -1]], np.int8), (1, 1, 2), [1], [1], [1],
                                   relu=True),
                    pim.int8_dense_scores(np.array([[2], [-1]], np.int8), (1, 1, 1), [0, 3])])))
        images = np.array([[[[101, 10]]], [[[10, 200]]], [[[3, 0]]]], dtype=np.uint8)
        # Image 0: q = (76, 8) (75.75 and 7.5 round up); acc = 1 + 76 - 8 = 69; h = 35 (34.5 up).
        # Image 1: q = (8, 127) (150 clamps); acc = 1 + 8 - 127 = -118; h = 0 (ReLU).
        # Image 2: q = (2, 0) (2.25 -> 2); acc = 3; h = 2 (1.5 up).
        np.testing.assert_array_equal(reference.scores(model, images),
                                      [[70, -32], [0, 3], [4, 1]])

    def test_round_shift_rounds_halves_up(self):
        np.testing.assert_array_equal(
            reference.round_shift(np.array([5, -5, -3, -7, 6, -6, 9]), np.array([1, 1, 1, 2, 2, 2, 0])),
            [3, -2, -1, -2, 2, -1, 9])

    def test_hand_computed_bnn_scores(self):
        # Input 1x1x3 binarized at 10; scores layer with rows (+1,+1,+1) and (-1,+1,-1).
        model = pim.decode(pim.encode(pim.Model(
            name="hand", version="1", description="", input_shape=(1, 1, 3), labels=["x", "y"],
            layers=[pim.input_binarize((1, 1, 3), 10),
                    pim.bnn_dense_scores([[True, True, True], [False, True, False]], [0, 1])])))
        images = np.array([[[[9, 10, 255]]], [[[0, 0, 0]]]], dtype=np.uint8)
        # Image 0 is (-1, +1, +1): dots 1 and 1, scores 1 and 2.
        # Image 1 is (-1, -1, -1): dots -3 and 1, scores -3 and 2.
        np.testing.assert_array_equal(reference.scores(model, images), [[1, 2], [-3, 2]])

    def test_ties_go_to_the_lowest_index(self):
        np.testing.assert_array_equal(reference.predict(np.array([[3, 5, 5], [7, 7, 7]])), [1, 0])

    def test_rejects_images_of_the_wrong_shape(self):
        model = pim.read(zoo.read()[0].model)
        with self.assertRaisesRegex(ValueError, r"the model takes uint8 \[N, 1, 28, 28\]"):
            reference.scores(model, np.zeros((2, 28, 27), dtype=np.uint8))


if __name__ == "__main__":
    unittest.main()
