#!/usr/bin/python3
"""The CPU backend against PyTorch's float32 networks of the same shapes, one core each, one run.

For each of the three shipped networks (binarized MLP 784-64-10, int8 MLP 784-128-64-10, int8
LeNet-5) it times, in alternating rounds on the same core:
  - the CPU backend (bench/cpu_backend_bench --json) with each kernel set asked for, and
  - PyTorch's float32 network of the same shape (Linear/Conv2d, ReLU, MaxPool2d), eval mode,
    no_grad, torch.set_num_threads(1),
both at batch 1000 on random inputs, by the thread's CPU time, and prints each figure and the
median ratio over the rounds, with the CPU they ran on. The binarized MLP's yardstick is the
float MLP of its shape (784-64-10); the int8 networks' are their float originals.

    bench/cpu_vs_torch.py [--cpu_bench=build/bench/cpu_backend_bench] [--kernels=all]
                          [--rounds=3] [--seconds=1]

To see what an AVX2-only core does on a machine with AVX-512, force both sides to AVX2:
    ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell DNNL_MAX_CPU_ISA=AVX2 \
        bench/cpu_vs_torch.py --kernels=avx2
(torch's own kernels, OpenBLAS (its Linear layers) and oneDNN (its Conv2d) then use AVX2, and the
backend its "avx2" set). On a Zen 5 EPYC, torch 1.13's oneDNN runs LeNet-5's convolutions about
6x slower with AVX-512 than with AVX2, so AVX2 is also torch's faster setting there: compare the
AVX-512 kernels against it too (--kernels=avx2,avx512vnni in the same environment).

Needs python3-torch (deploy/install-deps.sh); without it, prints the CPU backend's figures and
says torch is missing. Exits 0 when it printed its figures (targets are reported, not enforced).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH = 1000
# model file, torch network, target ratio (CPU backend / torch), as the issue sets them.
NETWORKS = [
    ("mnist-bnn-tfc", "binarized MLP 784-64-10 (vs float MLP 784-64-10)", 6.0),
    ("mnist-int8-mlp", "int8 MLP 784-128-64-10", 2.0),
    ("mnist-lenet5-int8", "int8 LeNet-5", 2.0),
]


def torch_network(name):
    import torch  # pylint: disable=import-outside-toplevel
    nn = torch.nn
    if name == "mnist-bnn-tfc":
        net = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
        shape = (BATCH, 784)
    elif name == "mnist-int8-mlp":
        net = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                            nn.Linear(64, 10))
        shape = (BATCH, 784)
    else:
        net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                            nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                            nn.Linear(84, 10))
        shape = (BATCH, 1, 28, 28)
    return net.eval(), torch.rand(*shape)


def torch_images_per_s(net, x, seconds):
    import torch  # pylint: disable=import-outside-toplevel
    with torch.no_grad():
        for _ in range(3):
            net(x)
        n = 0
        start = time.thread_time()
        while True:
            net(x)
            n += 1
            elapsed = time.thread_time() - start
            if elapsed >= seconds:
                return n * BATCH / elapsed


def backend_images_per_s(binary, model_file, kernels, seconds):
    """{kernel set: cpu images/s} from one run of cpu_backend_bench."""
    out = subprocess.run(
        [binary, "--json", f"--kernels={kernels}", f"--batch={BATCH}", f"--seconds={seconds}",
         "--repeats=1", model_file],
        check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if not rows:
        sys.exit(f"{binary} printed no figures for {model_file}")
    return {row["kernels"]: row["cpu_images_per_s"] for row in rows}, rows[0]["cpu"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu_bench",
                        default=os.path.join(here, "..", "build", "bench", "cpu_backend_bench"))
    parser.add_argument("--model_dir", default=os.path.join(here, "..", "models", "zoo"))
    parser.add_argument("--kernels", default="all",
                        help="kernel sets of the backend: all, best, or names (comma-separated)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be at least 1 and --seconds positive")
    try:
        import torch  # pylint: disable=import-outside-toplevel
        torch.set_num_threads(1)
        torch.manual_seed(0)
        torch_info = f"torch {torch.__version__}, " + ", ".join(
            f"{name}={os.environ.get(name, '(auto)')}"
            for name in ("ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE", "DNNL_MAX_CPU_ISA"))
    except ImportError:
        torch = None
        torch_info = "torch is not installed (deploy/install-deps.sh); no comparison"
    cpu_name = None
    for model, title, target in NETWORKS:
        model_file = os.path.join(args.model_dir, model + ".pim")
        backend = {}
        torch_rates = []
        net = x = None
        if torch is not None:
            net, x = torch_network(model)
        for _ in range(args.rounds):
            rates, cpu_name = backend_images_per_s(args.cpu_bench, model_file, args.kernels,
                                                   args.seconds)
            for kernels, rate in rates.items():
                backend.setdefault(kernels, []).append(rate)
            if torch is not None:
                torch_rates.append(torch_images_per_s(net, x, args.seconds))
        print(f"{title}, batch {BATCH}:")
        if torch_rates:
            print(f"  torch float32, 1 thread      {statistics.median(torch_rates):>12,.0f} images/s")
        for kernels, rates in backend.items():
            line = f"  cpu backend {kernels:<16} {statistics.median(rates):>12,.0f} images/s"
            if torch_rates:
                ratio = statistics.median(r / t for r, t in zip(rates, torch_rates))
                line += (f"   ratio {ratio:5.2f}x (target >= {target:g}x: "
                         f"{'met' if ratio >= target else 'NOT met'})")
            print(line, flush=True)
    print(f"cpu: {cpu_name}; {torch_info}; median of {args.rounds} alternating rounds of "
          f"{args.seconds:g} s, thread CPU time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
