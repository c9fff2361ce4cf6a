"""Tests of reference.py: it reproduces the shipped golden scores and agrees with plain ±1 math."""

import os
import unittest

import numpy as np

import idx
import pim
import reference

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(MODELS_DIR, "zoo", "mnist-bnn-tfc.pim")
IMAGES = os.path.join(MODELS_DIR, "data", "mnist-heldout-images.idx3-ubyte")
LABELS = os.path.join(MODELS_DIR, "data", "mnist-heldout-labels.idx1-ubyte")
GOLDEN = os.path.join(MODELS_DIR, "golden", "mnist-bnn-tfc.heldout-scores.idx2-int")
MIN_ACCURACY = 0.91


def plus_minus_one_scores(model, images):
    """The same network written as ±1 integer matrix products, without bit packing."""
    x = np.where(images.reshape(len(images), -1) >= model.layers[0].args[0], 1, -1)
    for layer in model.layers[1:]:
        dot = x @ np.where(layer.weight_bits(), 1, -1).T
        if layer.op == pim.OP_BNN_DENSE:
            x = np.where(dot >= layer.params_i32(), 1, -1)
        else:
            x = dot + layer.params_i32()
    return x


class ShippedModelTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.model = pim.read(MODEL)
        cls.images = idx.read(IMAGES)
        cls.scores = reference.scores(cls.model, cls.images)

    def test_reproduces_golden_scores_exactly(self):
        golden = idx.read(GOLDEN)
        self.assertEqual(golden.dtype, np.dtype(np.int32))
        self.assertEqual(golden.shape, (2000, 10))
        np.testing.assert_array_equal(self.scores, golden)

    def test_heldout_accuracy(self):
        accuracy = reference.accuracy(self.scores, idx.read(LABELS))
        self.assertGreaterEqual(accuracy, MIN_ACCURACY)

    def test_agrees_with_plus_minus_one_products(self):
        np.testing.assert_array_equal(self.scores, plus_minus_one_scores(self.model, self.images))


class ReferenceTest(unittest.TestCase):

    def test_random_model_with_padding_bits(self):
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

    def test_hand_computed_scores(self):
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
        model = pim.read(MODEL)
        with self.assertRaisesRegex(ValueError, r"the model takes uint8 \[N, 1, 28, 28\]"):
            reference.scores(model, np.zeros((2, 28, 27), dtype=np.uint8))


if __name__ == "__main__":
    unittest.main()
