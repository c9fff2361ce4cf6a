"""The manifest of the shipped models, zoo.tsv: which test images and golden scores each model is
checked against and the accuracy it must reach (numpy-free; read by the tests).

Example:
    for entry in zoo.read():
        model = pim.read(entry.model)
        scores = reference.scores(model, idx.read(entry.images))
"""

import dataclasses
import os

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(MODELS_DIR, "zoo.tsv")
COLUMNS = 5


@dataclasses.dataclass
class Entry:
    name: str
    model: str  # Absolute paths, all of them.
    images: str
    labels: str
    golden: str
    min_accuracy_pct: float


def read(path=MANIFEST):
    """Returns the manifest's entries in file order; ValueError on a malformed line."""
    entries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != COLUMNS:
                raise ValueError(f"{path}:{number}: {len(fields)} tab-separated fields; "
                                 f"expected {COLUMNS}")
            name, images, labels, golden, target = fields
            entries.append(Entry(
                name=name, model=os.path.join(MODELS_DIR, "zoo", f"{name}.pim"),
                images=os.path.join(MODELS_DIR, images), labels=os.path.join(MODELS_DIR, labels),
                golden=os.path.join(MODELS_DIR, golden), min_accuracy_pct=float(target)))
    return entries
