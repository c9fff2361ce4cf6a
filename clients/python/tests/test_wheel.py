"""pyproject.toml: the wheel builds offline with Debian's python3-build and setuptools, installs
into a virtual environment with pip (no index), and the installed client classifies."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import pynq_infer
from daemon import Daemon


class WheelTest(unittest.TestCase):
    def test_the_wheel_builds_installs_and_classifies(self):
        # The staged package (on PYTHONPATH): sources, generated stubs and pyproject.toml.
        staged = os.path.dirname(os.path.dirname(os.path.abspath(pynq_infer.__file__)))
        self.assertTrue(os.path.isfile(os.path.join(staged, "pyproject.toml")))
        with tempfile.TemporaryDirectory() as work:
            tree = os.path.join(work, "tree")
            shutil.copytree(staged, tree, ignore=shutil.ignore_patterns("__pycache__", "build",
                                                                        "*.egg-info"))
            subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--wheel",
                            "--outdir", os.path.join(work, "dist"), tree],
                           check=True, capture_output=True, text=True)
            wheels = os.listdir(os.path.join(work, "dist"))
            self.assertEqual(wheels, [f"pynq_infer-{pynq_infer.__version__}-py3-none-any.whl"])
            venv = os.path.join(work, "venv")
            # The venv sees Debian's grpcio, protobuf and numpy; pip must find them sufficient.
            subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip",
                            venv], check=True)
            python = os.path.join(venv, "bin", "python")
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            install = subprocess.run(
                [python, "-m", "pip", "install", "--no-index", "--no-cache-dir",
                 os.path.join(work, "dist", wheels[0])], env=env, capture_output=True, text=True)
            self.assertEqual(install.returncode, 0, install.stdout + install.stderr)
            daemon = Daemon(models=["mnist-bnn-tfc"])
            try:
                script = (
                    "import numpy as np, pynq_infer, sys\n"
                    f"assert pynq_infer.__file__.startswith({venv!r}), pynq_infer.__file__\n"
                    f"c = pynq_infer.Client({daemon.address!r})\n"
                    "print(c.predict(np.zeros((3, 28, 28), np.uint8)).tolist())\n")
                run = subprocess.run([python, "-c", script], env=env, cwd=work,
                                     capture_output=True, text=True)
            finally:
                self.assertEqual(daemon.stop(), 0)
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertRegex(run.stdout, r"^\[\d, \d, \d\]$")


if __name__ == "__main__":
    unittest.main()
