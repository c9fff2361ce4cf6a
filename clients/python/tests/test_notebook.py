"""The example notebook, executed by Debian's nbconvert against the real daemon."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

from daemon import Daemon

NOTEBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples",
                        "classify_digits.ipynb")


class NotebookTest(unittest.TestCase):
    def test_the_example_notebook_runs_and_prints_its_figures(self):
        daemon = Daemon()
        try:
            with tempfile.TemporaryDirectory() as out:
                env = dict(os.environ, PYNQ_INFER_ADDRESS=daemon.address)
                run = subprocess.run(
                    [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
                     "--ExecutePreprocessor.timeout=120", "--output-dir", out, NOTEBOOK],
                    env=env, capture_output=True, text=True, timeout=300,
                    cwd=os.path.dirname(NOTEBOOK))
                self.assertEqual(run.returncode, 0, run.stderr[-3000:])
                with open(os.path.join(out, "classify_digits.ipynb")) as f:
                    executed = json.load(f)
        finally:
            self.assertEqual(daemon.stop(), 0)
        text = "".join("".join(o.get("text", "")) for cell in executed["cells"]
                       for o in cell.get("outputs", []))
        self.assertIn("2000 digits of shape (28, 28), dtype uint8", text)
        self.assertIn("mnist-bnn-tfc         92.80% of 2000 digits", text)
        self.assertIn("mnist-lenet5-int8     98.60% of 2000 digits", text)
        self.assertRegex(text, r"mnist-bnn-tfc: [0-9.]+ images/s")
        self.assertNotIn("Traceback", text)


if __name__ == "__main__":
    unittest.main()
