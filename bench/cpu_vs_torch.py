#!/usr/bin/python3
"""The CPU backend against PyTorch's float MLP of the same shape, one core each, in one run.

Runs bench/cpu_backend_bench (Google Benchmark, JSON output) for the shipped binarized
784-64-10 model at batch 1000, then times torch's float32 784-64-10 MLP (Linear, ReLU, Linear)
at batch 1000 with one thread, and prints both figures and their ratio.

    bench/cpu_vs_torch.py [--cpu_bench=build/bench/cpu_backend_bench]

Needs python3-torch (deploy/install-deps.sh --training); without it, prints the CPU figure and
says torch is missing.
"""
import argparse
import json
import os
import subprocess
import sys
import time

BATCH = 1000
TARGET_IMAGES_PER_S = 5e6


def cpu_backend_images_per_s(binary):
    out = subprocess.run(
        [binary, f"--benchmark_filter=CpuBackend/mnist-bnn-tfc/batch:{BATCH}$",
         "--benchmark_format=json", "--benchmark_min_time=1"],
        check=True, capture_output=True, text=True).stdout
    runs = json.loads(out)["benchmarks"]
    if not runs:
        sys.exit(f"{binary} ran no benchmark for mnist-bnn-tfc at batch {BATCH}")
    return runs[0]["items_per_second"]


def torch_images_per_s():
    import torch  # pylint: disable=import-outside-toplevel
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 10)).eval()
    x = torch.rand(BATCH, 784)
    with torch.no_grad():
        for _ in range(20):
            model(x)
        best = float("inf")
        # The best of several one-second runs: the least disturbed by other processes.
        for _ in range(5):
            n = 0
            start = time.process_time()
            while time.process_time() - start < 1.0:
                model(x)
                n += 1
            best = min(best, (time.process_time() - start) / n)
    return BATCH / best


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu_bench",
                        default=os.path.join(here, "..", "build", "bench", "cpu_backend_bench"))
    args = parser.parse_args()
    cpu = cpu_backend_images_per_s(args.cpu_bench)
    print(f"cpu backend, binarized 784-64-10, batch {BATCH}, 1 core: {cpu:,.0f} images/s "
          f"(target >= {TARGET_IMAGES_PER_S:,.0f}: {'met' if cpu >= TARGET_IMAGES_PER_S else 'NOT met'})")
    try:
        torch_rate = torch_images_per_s()
    except ImportError:
        print("torch is not installed (deploy/install-deps.sh --training); no comparison")
        return 0
    print(f"torch float32 784-64-10 MLP, batch {BATCH}, 1 thread: {torch_rate:,.0f} images/s")
    print(f"ratio cpu backend / torch: {cpu / torch_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
