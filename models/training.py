"""What every training script shares (torch): options, data augmentation, the training loop, float
accuracy, and writing and checking the exported model file.

A training script builds its network, calls train(), exports a pim.Model and hands it to
write_and_check(), which writes the file, reads it back through pim.py and prints the integer
reference's accuracy, so a script's report always describes the file on disk.

Each script has a recipe per data set: the defaults of its options (epochs, learning rate,
augmentation, ...) on that data set. What the user passes on the command line wins.

Example (see train_bnn.py, train_int8.py):
    parser = argparse.ArgumentParser(description=...)
    training.add_arguments(parser, "zoo/{dataset}-int8-mlp.pim",
                           {"mnist": {"epochs": 40, "lr": 1e-3, "max_shift": 1, "flip": False},
                            "fashion": {...}})
    args = parser.parse_args(argv)
    data = training.start(args)            # one thread, seeded, the recipe filled in; the data
    training.train(net, data.train_images, data.train_labels, prepare,
                   training.options_from(args), generator)
    training.write_and_check(args.out, model, data, started)
"""

import argparse
import dataclasses
import math
import os
import time

import numpy as np
import torch
from torch import nn

import datasets
import pim
import reference


@dataclasses.dataclass
class Options:
    epochs: int
    batch_size: int
    lr: float  # Adam's, annealed to 0 by a cosine schedule over all steps.
    max_shift: int = 0  # Augmentation: each epoch shifts each image by -max_shift..max_shift px.
    flip: bool = False  # Augmentation: each epoch mirrors a random half of the images.
    weight_decay: float = 0.0  # Adam's L2 penalty.


def per_dataset(recipes, key):
    """"mnist X, fashion Y": the recipes' defaults of one option, for --help."""
    return ", ".join(f"{name} {recipe[key]}" for name, recipe in recipes.items())


def add_arguments(parser, default_out, recipes):
    """Adds the options every training script takes. `recipes` maps each data set name to the
    defaults of epochs, lr, weight_decay, max_shift and flip there, and of any option the script
    adds itself with default None. `default_out` may contain {dataset}."""
    parser.add_argument("--dataset", choices=datasets.NAMES, default="mnist",
                        help="data set to train on (default: %(default)s)")
    parser.add_argument("--data", help="[mnist] directory with the IDX files of mnist_split.py")
    parser.add_argument("--out", help=f"model file to write (default: models/{default_out})")
    parser.add_argument("--version", default="1.0.0", help="model version (default: %(default)s)")
    parser.add_argument("--epochs", type=int,
                        help=f"(default: {per_dataset(recipes, 'epochs')})")
    parser.add_argument("--batch-size", type=int, default=100, help="(default: %(default)s)")
    parser.add_argument("--lr", type=float,
                        help=f"Adam learning rate (default: {per_dataset(recipes, 'lr')})")
    parser.add_argument("--weight-decay", type=float,
                        help=f"Adam's L2 penalty (default: {per_dataset(recipes, 'weight_decay')})")
    parser.add_argument("--max-shift", type=int,
                        help=f"augmentation: random shift in pixels per axis each epoch "
                             f"(default: {per_dataset(recipes, 'max_shift')})")
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction,
                        help=f"augmentation: mirror a random half of the images each epoch "
                             f"(default: {per_dataset(recipes, 'flip')})")
    parser.add_argument("--train-limit", type=int, default=0,
                        help="train on only the first N training images (0: all); for quick "
                             "checks of the pipeline")
    parser.add_argument("--seed", type=int, default=1, help="torch seed (default: %(default)s)")
    parser.set_defaults(default_out=default_out, recipes=recipes)


def start(args):
    """Sets up torch (one thread, seeded), fills every option left unset from the data set's
    recipe, and returns the data set."""
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    for key, value in args.recipes[args.dataset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.out is None:
        args.out = os.path.join(datasets.MODELS_DIR,
                                args.default_out.format(dataset=args.dataset))
    data = datasets.load(args.dataset, args.data)
    if args.train_limit:
        data.train_images = data.train_images[:args.train_limit]
        data.train_labels = data.train_labels[:args.train_limit]
    return data


def options_from(args):
    """Options from the parsed arguments of add_arguments(), after start()."""
    return Options(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                   max_shift=args.max_shift, flip=args.flip, weight_decay=args.weight_decay)


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


def random_flip(images, generator):
    """Mirrors a random half (on average) of the uint8 images [N, H, W] left to right."""
    chosen = torch.rand(len(images), generator=generator) < 0.5
    flipped = images.clone()
    flipped[chosen] = images[chosen].flip(2)
    return flipped


def train(net, images, labels, prepare, options, generator, after_step=None):
    """Trains `net` on uint8 images [N, H, W] (augmented anew every epoch) and int labels [N].

    `prepare` turns a uint8 image tensor [N, H, W] into the network's float input; `after_step`,
    if given, runs after every optimizer step (e.g. to clip latent weights). Prints the loss every
    10 epochs and after the last.
    """
    optimizer = torch.optim.Adam(net.parameters(), lr=options.lr,
                                 weight_decay=options.weight_decay)
    steps_per_epoch = math.ceil(len(images) / options.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                          options.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    images = torch.from_numpy(images)
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))
    net.train()
    for epoch in range(options.epochs):
        augmented = images
        if options.max_shift:
            augmented = random_shift(augmented, options.max_shift, generator)
        if options.flip:
            augmented = random_flip(augmented, generator)
        x = prepare(augmented)
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start_index in range(0, len(x), options.batch_size):
            batch = order[start_index:start_index + options.batch_size]
            loss = loss_fn(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            if after_step is not None:
                after_step()
            total += loss.item() * len(batch)
        if epoch % 10 == 9 or epoch == options.epochs - 1:
            print(f"epoch {epoch + 1:3d}/{options.epochs}: loss {total / len(x):.4f}", flush=True)


def float_accuracy(net, x, labels):
    """Accuracy of `net` (eval mode) on float inputs x; ties go to the lowest index, as the
    engine's."""
    net.eval()
    y = torch.from_numpy(np.asarray(labels).astype(np.int64))
    with torch.no_grad():
        predicted = torch.cat([net(chunk).argmax(dim=1) for chunk in torch.split(x, 1000)])
    return (predicted == y).float().mean().item()


def print_float_accuracy(net, prepare, data):
    """Prints and returns the float network's (train, test) accuracy."""
    result = []
    for name, images, labels in (("train", data.train_images, data.train_labels),
                                 ("test", data.test_images, data.test_labels)):
        accuracy = float_accuracy(net, prepare(torch.from_numpy(images)), labels)
        print(f"float {name} accuracy:   {accuracy:.4f}")
        result.append(accuracy)
    return tuple(result)


def write_and_check(path, model, data, started):
    """Writes `model`, reads the file back and prints the integer reference's accuracy on the
    training and test images. Returns the test accuracy."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    pim.write(path, model)
    model = pim.read(path)
    print(f"wrote {path}")
    accuracy = None
    for name, images, labels in (("train", data.train_images, data.train_labels),
                                 ("test", data.test_images, data.test_labels)):
        accuracy = reference.accuracy(reference.scores(model, images), labels)
        print(f"integer {name} accuracy: {accuracy:.4f}")
    print(f"time: {time.monotonic() - started:.0f} s")
    return accuracy


def description(network, data, script):
    """A model description: what the network is, what it was trained on, by which script."""
    return f"{network} Trained on {data.source} by models/{script}."
