#!/usr/bin/python3
"""Trains and exports the seed paper's binarized MLP 784 -> 64 -> 10: `mnist-bnn-tfc` on the
project's MNIST split, `fashion-bnn-tfc` on Fashion-MNIST (--dataset fashion).

The network (FINN "TFC-W1A1"-like, one hidden layer):
  input      pixel >= 128 -> +1, else -1                                      784 values of ±1
  hidden     h = x · sign(W1)  (±1 weights), a = sign(BatchNorm(h))           64 values of ±1
  output     s * (a · sign(W2)) + b,  s > 0 a single scale, b a per-class bias  10 scores
sign(0) = +1 everywhere. Training keeps float latent weights clipped to [-1, 1] and passes gradients
through sign() with the straight-through estimator, masked outside [-1, 1] (the hardtanh gradient).
Adam, cosine-annealed learning rate. With only 8,000 MNIST training images the network overfits
(about 99.8% train, 90.5% held-out), so every epoch sees each image shifted by a random -1..1 pixels
in x and y (zero fill), which lifts held-out accuracy to about 92%.

Export to integers (accel/model/MODEL_FORMAT.md, engine ABI v1):
  INPUT_BINARIZE    arg0 = 128
  BNN_DENSE         784 -> 64; the BatchNorm becomes one threshold T per unit, fire iff dot >= T
  BNN_DENSE_SCORES  64 -> 10;  score = dot + round(b / s), which has the argmax of s * dot + b up to
                    the rounding of b / s, because s > 0
The BatchNorm fold: the unit fires iff k * (h - mean) + beta >= 0, with k = gamma / sqrt(var + eps).
  k > 0: h >= tau, tau = mean - beta / k; h is an integer, so h >= ceil(tau).
  k < 0: h <= tau, i.e. h <= floor(tau); negate the unit's weight row (so its dot is -h) and use
         -h >= -floor(tau). Every unit then has the same rule dot >= T.
  k = 0: the unit is constant (fires iff beta >= 0): T = -n_in (always) or n_in + 1 (never).

Prints the float accuracy of the trained network and the integer accuracy of the exported file,
computed by reference.py on the file read back from disk.

Example (see models/README.md):
    /usr/bin/python3 models/mnist_split.py --out build/mnist-split
    /usr/bin/python3 models/train_bnn.py --data build/mnist-split
    /usr/bin/python3 models/train_bnn.py --dataset fashion
"""

import argparse
import math
import sys
import time

import numpy as np
import torch
from torch import nn

import pim
import training

HIDDEN = 64
# Defaults per data set (training.py). Fashion-MNIST's garments are mostly mid-grey: binarizing
# them at 128 keeps little more than their outline (81% test accuracy after 30 epochs), at 32 most
# of their shape (86%). 60,000 training images need neither the shift augmentation nor 100 epochs.
RECIPES = {
    "mnist": {"epochs": 100, "lr": 0.01, "weight_decay": 0.0, "max_shift": 1, "flip": False,
              "threshold": 128},
    "fashion": {"epochs": 30, "lr": 0.01, "weight_decay": 0.0, "max_shift": 0, "flip": False,
                "threshold": 32},
}


class SignSTE(torch.autograd.Function):
    """sign(x) with sign(0) = +1; backward passes the gradient where |x| <= 1 (hardtanh's)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


class BinarizedMLP(nn.Module):
    """784 -> 64 -> 10 with ±1 weights and activations; takes ±1 float inputs [N, 784]."""

    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.w1 = nn.Parameter(torch.empty(n_hidden, n_in).uniform_(-0.1, 0.1))
        self.bn1 = nn.BatchNorm1d(n_hidden)
        self.w2 = nn.Parameter(torch.empty(n_out, n_hidden).uniform_(-0.1, 0.1))
        # The output scale is exp(log_scale), so it stays positive. A ±1 dot over 64 inputs spans
        # [-64, 64]; 1/8 keeps the initial logits in a range where softmax is not saturated.
        self.log_scale = nn.Parameter(torch.tensor(math.log(1 / 8)))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        hidden = SignSTE.apply(self.bn1(x @ SignSTE.apply(self.w1).t()))
        return (hidden @ SignSTE.apply(self.w2).t()) * self.log_scale.exp() + self.bias

    def clip_latent_weights(self):
        with torch.no_grad():
            self.w1.clamp_(-1, 1)
            self.w2.clamp_(-1, 1)


def binarizer(threshold):
    """Returns the network's input transform: uint8 images [N, 28, 28] -> float ±1 [N, 784], +1
    where pixel >= threshold."""
    def binarize(images):
        return (images.reshape(len(images), -1) >= threshold).float() * 2 - 1
    return binarize


def fold_thresholds(net):
    """Returns (weight bits [64, 784], thresholds [64]) of the hidden layer, BatchNorm folded in."""
    bn = net.bn1
    n_in = net.w1.shape[1]
    with torch.no_grad():
        bits = (net.w1 >= 0).numpy()
        k = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).double().numpy()
        mean = bn.running_mean.double().numpy()
        beta = bn.bias.double().numpy()
    # The fold is exact in real arithmetic; float64 here versus float32 in training can differ only
    # for a tau within rounding error of an integer, which would move one unit's decision at that
    # single dot value.
    thresholds = np.empty(len(k), dtype=np.int64)
    for unit in range(len(k)):
        if k[unit] > 0:
            thresholds[unit] = math.ceil(mean[unit] - beta[unit] / k[unit])
        elif k[unit] < 0:
            bits[unit] = ~bits[unit]
            thresholds[unit] = -math.floor(mean[unit] - beta[unit] / k[unit])
        else:
            thresholds[unit] = -n_in if beta[unit] >= 0 else n_in + 1
    # A threshold outside [-n_in, n_in + 1] decides the same as the nearest end of that range.
    return bits, np.clip(thresholds, -n_in, n_in + 1)


def export(net, version, threshold, data):
    """Returns the pim.Model of the trained network."""
    hidden_bits, thresholds = fold_thresholds(net)
    with torch.no_grad():
        output_bits = (net.w2 >= 0).numpy()
        biases = np.rint((net.bias / net.log_scale.exp()).double().numpy()).astype(np.int64)
    return pim.Model(
        name=f"{data.name}-bnn-tfc",
        version=version,
        description=training.description(
            f"Binarized MLP 784-64-10 (FINN TFC-W1A1-like): input binarized at pixel >= "
            f"{threshold}, one hidden layer of 64 binarized units with folded-BatchNorm "
            f"thresholds, binarized output layer with integer biases.", data, "train_bnn.py"),
        input_shape=(1, 28, 28),
        labels=data.labels,
        layers=[pim.input_binarize((1, 28, 28), threshold),
                pim.bnn_dense(hidden_bits, thresholds),
                pim.bnn_dense_scores(output_bits, biases)],
        preprocess=data.preprocess)


def main(argv):
    parser = argparse.ArgumentParser(
        description="Train the binarized MLP 784-64-10 and export it as a .pim.")
    training.add_arguments(parser, "zoo/{dataset}-bnn-tfc.pim", RECIPES)
    parser.add_argument("--threshold", type=int,
                        help=f"input binarization: +1 where pixel >= this (default: "
                             f"{training.per_dataset(RECIPES, 'threshold')})")
    args = parser.parse_args(argv)

    started = time.monotonic()
    data = training.start(args)
    binarize = binarizer(args.threshold)
    net = BinarizedMLP(28 * 28, HIDDEN, len(data.labels))
    generator = torch.Generator().manual_seed(args.seed)
    training.train(net, data.train_images, data.train_labels, binarize,
                   training.options_from(args), generator, after_step=net.clip_latent_weights)
    training.print_float_accuracy(net, binarize, data)
    training.write_and_check(args.out, export(net, args.version, args.threshold, data), data,
                             started)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
