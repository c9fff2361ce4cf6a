"""Test support: the real pynq-inferd ($PYNQ_INFERD, set by CTest) started on a loopback port,
the repository's held-out data, and a throw-away PKI from tests/make_test_pki.sh."""

import os
import shutil
import signal
import subprocess
import tempfile
import time

import pynq_infer


def source_dir():
    return os.environ["PYNQ_SOURCE_DIR"]


def heldout(count=None):
    """(images uint8 [N, 28, 28], labels [N]) of the 2,000 held-out MNIST digits."""
    data = os.path.join(source_dir(), "models", "data")
    images = pynq_infer.read_idx(os.path.join(data, "mnist-heldout-images.idx3-ubyte"))
    labels = pynq_infer.read_idx(os.path.join(data, "mnist-heldout-labels.idx1-ubyte"))
    return images[:count], labels[:count]


def golden_scores(model, count=None):
    path = os.path.join(source_dir(), "models", "golden", f"{model}.heldout-scores.idx2-int")
    return pynq_infer.read_idx(path)[:count]


def make_pki(directory):
    """Certificates, keys and tokens in `directory` (see tests/make_test_pki.sh)."""
    subprocess.run(["bash", os.path.join(source_dir(), "tests", "make_test_pki.sh"), directory],
                   check=True, stdout=subprocess.DEVNULL)
    return directory


class Daemon:
    """pynq-inferd serving `models` (names of shipped models; default all of models/zoo),
    with `args` added. The constructor returns once it serves; stop() sends SIGTERM."""

    def __init__(self, *args, models=None):
        self.dir = tempfile.mkdtemp(prefix="pynq-py-daemon-")
        zoo = os.path.join(source_dir(), "models", "zoo")
        if models is None:
            model_dir = zoo
        else:
            model_dir = os.path.join(self.dir, "models")
            os.mkdir(model_dir)
            for name in models:
                # Copies, not links: LoadModel refuses links that lead out of the directory.
                shutil.copy(os.path.join(zoo, name + ".pim"), model_dir)
        self.model_dir = model_dir
        port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "log")
        command = [os.environ["PYNQ_INFERD"], "--listen=127.0.0.1:0", f"--port_file={port_file}",
                   f"--pl_lock_file={self.dir}/pl.lock", f"--model_dir={model_dir}",
                   "--metrics_log_interval_s=0", "--drain_delay_ms=0", *args]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(f"pynq-inferd exited with {self.process.returncode} before "
                                   f"serving:\n{self.log()}")
            try:
                with open(port_file) as f:
                    port = int(f.read().strip() or 0)
                if port > 0:
                    self.address = f"127.0.0.1:{port}"
                    self.port = port
                    return
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        self.process.kill()
        raise RuntimeError("pynq-inferd did not publish its port within 60 s")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.process.returncode


def run_daemon_expecting_failure(*args, timeout=30):
    """Runs pynq-inferd with `args` and returns (exit code, log) once it exits."""
    with tempfile.TemporaryDirectory(prefix="pynq-py-daemon-") as work:
        result = subprocess.run(
            [os.environ["PYNQ_INFERD"], "--listen=127.0.0.1:0", f"--pl_lock_file={work}/pl.lock",
             f"--model_dir={os.path.join(source_dir(), 'models', 'zoo')}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, text=True)
    return result.returncode, result.stdout
