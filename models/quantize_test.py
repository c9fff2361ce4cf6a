"""Tests of quantize.py: fixed-point multipliers, scales, and a quantized layer agreeing with its
float original through the integer reference (numpy only, no torch)."""

import math
import unittest

import numpy as np

import pim
import quantize
import reference


class MultiplierTest(unittest.TestCase):

    def test_normalized_and_accurate(self):
        for real in (1e-9, 3.3e-5, 0.0123, 0.5, 0.999999, 1.0, 1.5, 1.9999999):
            m, n = quantize.multiplier(real)
            self.assertGreaterEqual(m, 1 << 30, real)
            self.assertLess(m, 1 << 31, real)
            self.assertTrue(0 <= n <= 62, real)
            self.assertAlmostEqual(m / 2 ** n / real, 1.0, delta=2 ** -30)

    def test_exact_powers_of_two(self):
        self.assertEqual(quantize.multiplier(0.25), (1 << 30, 32))
        self.assertEqual(quantize.multiplier(1.0), (1 << 30, 30))

    def test_rounding_up_to_the_next_power(self):
        # Just below 1: the fraction rounds up to 2^31, renormalized to 2^30 with one shift less.
        self.assertEqual(quantize.multiplier(1 - 2 ** -40), (1 << 30, 30))

    def test_tiny_reals_keep_the_largest_shift(self):
        m, n = quantize.multiplier(2 ** -40)
        self.assertEqual((m, n), (1 << 22, 62))
        self.assertEqual(quantize.multiplier(2 ** -70), (1, 62))

    def test_rejects_what_cannot_be_represented(self):
        self.assertEqual(quantize.multiplier(2.0), (1 << 30, 29))
        self.assertEqual(quantize.multiplier(2.0 ** 30), (1 << 30, 0))
        for real in (0.0, -1.0, 2.0 ** 31, 1e12):
            with self.assertRaises(ValueError, msg=real):
                quantize.multiplier(real)


class ScalesTest(unittest.TestCase):

    def test_input_quantizer(self):
        multiplier, shift, scale = quantize.input_quantizer(1 / 127)
        self.assertEqual((multiplier, shift), (32639, 16))  # round(65536 * 127 / 255)
        self.assertAlmostEqual(scale, 1 / 127, delta=1e-6)
        pixels = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
        layer = pim.input_quantize((1, 16, 16), multiplier, shift)
        q = reference.input_quantize(layer, pixels).reshape(-1)
        np.testing.assert_array_equal(q, np.rint(np.arange(256) / 255 / scale))
        self.assertEqual(q.max(), 127)

    def test_weights_per_channel_and_per_tensor(self):
        w = np.array([[0.5, -1.0], [0.01, 0.02], [0.0, 0.0]])
        np.testing.assert_allclose(quantize.weight_scales(w, per_channel=True),
                                   [1 / 127, 0.02 / 127, 1.0])
        np.testing.assert_allclose(quantize.weight_scales(w, per_channel=False), [1 / 127] * 3)
        q = quantize.quantize_weights(w, quantize.weight_scales(w, per_channel=True))
        np.testing.assert_array_equal(q, [[64, -127], [64, 127], [0, 0]])  # 63.5 rounds to even
        self.assertEqual(q.dtype, np.int8)

    def test_dead_channel_with_a_live_bias_fits_the_format(self):
        # Channel 1's weights have decayed to almost nothing; its bias has not.
        weights = np.array([[0.5, -0.25], [1e-9, -2e-9]])
        biases = np.array([0.1, 0.3])
        q = quantize.Requantized(weights, biases, input_scale=0.01, output_scale=0.05)
        np.testing.assert_array_equal(q.weights, [[127, -64], [0, 0]])
        self.assertEqual(q.bias[1], quantize.MAX_BIAS)
        # The channel still outputs its bias: 0.3 / 0.05 = 6 steps.
        self.assertEqual(int(reference.requantize(q.bias.reshape(1, 2), q.multiplier, q.shift,
                                                  relu=True)[0, 1]), 6)
        scores = quantize.Scores(weights, biases * 1e4, input_scale=0.01)
        self.assertLessEqual(np.abs(scores.bias).max(), quantize.MAX_BIAS)

    def test_bias_overflow_is_an_error(self):
        with self.assertRaisesRegex(ValueError, "beyond the format's"):
            quantize.quantize_biases([1.0], 1e-4, np.array([1e-4]))

    def test_activation_scale_ignores_rare_outliers(self):
        activations = np.concatenate([np.linspace(0, 1, 100000), [50.0]])
        self.assertAlmostEqual(quantize.activation_scale(activations) * 127, 1.0, delta=1e-3)
        with self.assertRaisesRegex(ValueError, "dead"):
            quantize.activation_scale(np.zeros(10))


class QuantizedLayerTest(unittest.TestCase):
    """A float dense layer with ReLU, quantized, run by the integer reference: each output is within
    one step of the float result."""

    def test_dense_layer_matches_float(self):
        rng = np.random.default_rng(4)
        n_in, n_out = 50, 20
        weights = rng.normal(0, 0.3, (n_out, n_in)) * rng.uniform(0.1, 3, (n_out, 1))
        biases = rng.normal(0, 0.5, n_out)
        x_scale = 0.02
        x_q = rng.integers(0, 128, (200, n_in))
        y = np.maximum(0, (x_q * x_scale) @ weights.T + biases)
        y_scale = quantize.activation_scale(y)
        q = quantize.Requantized(weights, biases, x_scale, y_scale)
        layer = pim.int8_dense(q.weights, (n_in, 1, 1), q.bias, q.multiplier, q.shift, relu=True)
        acc = reference.int8_dense_acc(layer, x_q)
        y_q = reference.requantize(acc, q.multiplier, q.shift, relu=True)
        # Weight rounding (half a step of each of 50 products) and the output rounding: well
        # within 1.5 output steps for all but the clamped outputs.
        unclamped = y < 127 * y_scale
        error = np.abs(y_q * y_scale - y)[unclamped] / y_scale
        self.assertLess(error.max(), 1.5)
        self.assertLess(error.mean(), 0.35)
        self.assertGreater(np.mean(y_q == 127), 0)  # The top percentile saturates, by design.

    def test_scores_layer_keeps_one_unit(self):
        rng = np.random.default_rng(5)
        weights = rng.normal(0, 1, (10, 30)) * np.arange(1, 11)[:, None]  # Rows of unequal scale.
        biases = rng.normal(0, 1, 10)
        x_scale = 0.05
        x_q = rng.integers(-128, 128, (500, 30))
        logits = (x_q * x_scale) @ weights.T + biases
        q = quantize.Scores(weights, biases, x_scale)
        layer = pim.int8_dense_scores(q.weights, (30, 1, 1), q.bias)
        scores = reference.int8_dense_acc(layer, x_q)
        # Each of 30 weights is off by at most half a step (q.scale / x_scale) times |x| <= 128
        # steps of x_scale; the bias by half a score step.
        np.testing.assert_allclose(scores * q.scale, logits, atol=(30 * 0.5 * 128 + 0.5) * q.scale)
        self.assertGreaterEqual(np.mean(scores.argmax(1) == logits.argmax(1)), 0.99)
        self.assertTrue(math.isclose(q.scale, x_scale * np.abs(weights).max() / 127))


if __name__ == "__main__":
    unittest.main()
