#!/usr/bin/python3
"""Trains a float network and exports it, quantized after training, as an int8 model.

Networks (--arch), both with ReLU after every hidden layer, on inputs x = pixel / 255:
  mlp      784 -> 128 -> 64 -> 10                                 `{dataset}-int8-mlp`
  lenet5   conv 5x5x6, max-pool 2x2, conv 5x5x16, max-pool 2x2,   `{dataset}-lenet5-int8`
           fc 120, fc 84, fc 10 (valid convolutions: 28 -> 24 -> 12 -> 8 -> 4)
Training: Adam, cosine-annealed learning rate, cross-entropy, one thread; MNIST images are shifted
by a random -1..1 pixels per epoch, Fashion-MNIST images mirrored at random (ARCHS has the recipes
per data set; training.py the loop).

Export (quantize.py has the scheme; accel/model/MODEL_FORMAT.md the ops): INPUT_QUANTIZE to scale 1/127,
then each Linear or Conv2d (with the ReLU after it fused as the clamp at 0) becomes INT8_DENSE or
INT8_CONV with per-channel int8 weights, int32 biases and a fixed-point multiplier and shift per
channel to the next tensor's scale; each MaxPool2d becomes MAXPOOL; the last Linear becomes
INT8_DENSE_SCORES with one weight scale. Output scales are calibrated on the float activations of
the first CALIBRATION_IMAGES training images.

Prints the float network's accuracy and the integer accuracy of the exported file, computed by
reference.py on the file read back from disk.

Example (see models/README.md):
    /usr/bin/python3 models/train_int8.py --arch mlp --data build/mnist-split
    /usr/bin/python3 models/train_int8.py --arch lenet5 --dataset fashion
"""

import argparse
import sys
import time

import torch
from torch import nn

import pim
import quantize
import training

INPUT_SHAPE = (1, 28, 28)
CALIBRATION_IMAGES = 5000


def mlp(num_classes):
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64),
                         nn.ReLU(), nn.Linear(64, num_classes))


def lenet5(num_classes):
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, num_classes))


# --arch -> (network, model name suffix, description, recipes of training.add_arguments()).
# Fashion-MNIST is mirrored at random (a mirrored garment is still that garment), not shifted, and
# its networks, which overfit 60,000 images less than 8,000 digits but still do, get an L2
# penalty (+0.15 and +0.25 points of test accuracy in trial runs).
ARCHS = {
    "mlp": (mlp, "int8-mlp",
            "MLP 784-128-64-10 with ReLU, quantized after training: int8 input, per-channel "
            "int8 weights, int32 biases, int8 activations requantized by fixed-point multipliers; "
            "int32 scores.",
            {"mnist": {"epochs": 40, "lr": 1e-3, "weight_decay": 0.0, "max_shift": 1,
                       "flip": False},
             "fashion": {"epochs": 60, "lr": 1e-3, "weight_decay": 1e-4, "max_shift": 0,
                         "flip": True}}),
    "lenet5": (lenet5, "lenet5-int8",
               "LeNet-5 (conv 5x5x6, max-pool 2x2, conv 5x5x16, max-pool 2x2, fc 120, fc 84, "
               "fc 10, ReLU) on 28x28 inputs, quantized after training: int8 input, per-channel "
               "int8 weights, int32 biases, int8 activations requantized by fixed-point "
               "multipliers; int32 scores.",
               {"mnist": {"epochs": 40, "lr": 2e-3, "weight_decay": 0.0, "max_shift": 1,
                          "flip": False},
                "fashion": {"epochs": 40, "lr": 2e-3, "weight_decay": 5e-4, "max_shift": 0,
                            "flip": True}}),
}


def to_float(images):
    """uint8 images [N, 28, 28] -> the network's input, float [N, 1, 28, 28] in [0, 1]."""
    return images.unsqueeze(1).float() / 255


def quantized_layers(net, calibration):
    """Returns the pim layers of the trained nn.Sequential `net`, calibrated on float inputs."""
    multiplier, shift, scale = quantize.input_quantizer(1 / quantize.INT8_MAX)
    layers = [pim.input_quantize(INPUT_SHAPE, multiplier, shift)]
    shape = INPUT_SHAPE
    modules = list(net)
    last_weighted = max(i for i, m in enumerate(modules) if isinstance(m, (nn.Linear, nn.Conv2d)))
    x = calibration
    net.eval()
    with torch.no_grad():
        for i, module in enumerate(modules):
            if isinstance(module, nn.ReLU):
                continue  # Fused into the layer before it, below.
            if isinstance(module, nn.Flatten):
                x = module(x)  # The int8 dense ops read any shape as a flat CHW vector.
                continue
            if isinstance(module, nn.MaxPool2d):
                layers.append(pim.maxpool(shape, module.kernel_size))
                x = module(x)
                shape = layers[-1].out_shape
                continue
            weights = module.weight.double().numpy()
            biases = module.bias.double().numpy()
            if i == last_weighted:
                q = quantize.Scores(weights, biases, scale)
                layers.append(pim.int8_dense_scores(q.weights, shape, q.bias))
                break
            relu = i + 1 < len(modules) and isinstance(modules[i + 1], nn.ReLU)
            x = module(x)
            if relu:
                x = torch.relu(x)
            q = quantize.Requantized(weights, biases, scale, quantize.activation_scale(x.numpy()))
            if isinstance(module, nn.Conv2d):
                layers.append(pim.int8_conv(q.weights, shape, q.bias, q.multiplier, q.shift, relu))
            else:
                layers.append(pim.int8_dense(q.weights, shape, q.bias, q.multiplier, q.shift,
                                             relu))
            shape, scale = layers[-1].out_shape, q.output_scale
    return layers


def main(argv):
    # The recipes depend on --arch, so it is read first; --help without it shows the MLP's.
    arch_parser = argparse.ArgumentParser(add_help=False)
    arch_parser.add_argument("--arch", choices=sorted(ARCHS))
    arch = ARCHS[arch_parser.parse_known_args(argv)[0].arch or "mlp"]
    parser = argparse.ArgumentParser(
        description="Train an MLP or LeNet-5 and export it, quantized to int8, as a .pim. The "
                    "defaults shown are those of the --arch given (mlp without one).")
    parser.add_argument("--arch", choices=sorted(ARCHS), required=True, help="network to train")
    training.add_arguments(parser, f"zoo/{{dataset}}-{arch[1]}.pim", arch[3])
    args = parser.parse_args(argv)

    started = time.monotonic()
    data = training.start(args)
    net = arch[0](len(data.labels))
    generator = torch.Generator().manual_seed(args.seed)
    training.train(net, data.train_images, data.train_labels, to_float,
                   training.options_from(args), generator)
    training.print_float_accuracy(net, to_float, data)

    calibration = to_float(torch.from_numpy(data.train_images[:CALIBRATION_IMAGES]))
    model = pim.Model(name=f"{data.name}-{arch[1]}", version=args.version,
                      description=training.description(arch[2], data, "train_int8.py"),
                      input_shape=INPUT_SHAPE, labels=data.labels,
                      layers=quantized_layers(net, calibration), preprocess=data.preprocess)
    training.write_and_check(args.out, model, data, started)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
