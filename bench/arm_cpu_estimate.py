#!/usr/bin/python3
"""The CPU backend's speed on the boards' ARM cores, estimated without a board.

Counts the instructions one image costs on ARM, per shipped model and kernel set, by running the
cross-built bench/cpu_backend_bench under qemu-user with a plugin that counts executed
instructions by class (bench/arm_insn_mix_plugin.c); then turns the counts into cycles with a
simple model of each core and prints images/s at the boards' clocks. An estimate: a board owner
measures the real figure with the packaged benchmark (`pynq-infer-cpu-bench` on the board).

    bench/arm_cpu_estimate.py [--armhf_build=build-armhf] [--arm64_build=build-arm64]
                              [--sysroot=build-cross/sysroot-armhf] [--batch=64]

Needs the cross builds' cpu_backend_bench (tests/run_all.sh makes them; or cmake --build
build-armhf --target cpu_backend_bench), qemu-user and a host C compiler. Takes a few minutes.

Instructions per image: each (model, kernel set) runs 1 + 1 and 1 + 3 batches of --batch random
images (a warm-up batch, then --runs); the difference, over 2 batches, is the per-image cost, with
loading and set-up cancelled out.

The cycle model, and its assumptions (written down, not measured):
  - NEON: the Cortex-A9's NEON unit (PYNQ-Z1/Z2, Zynq-7000) and the Cortex-A53's (KV260 and the
    other Zynq UltraScale+ boards) process 64 bits per cycle: an instruction on 64-bit registers
    takes 1 cycle, one on 128-bit registers 2, a NEON load or store 2 (the A9 TRM's timings for
    the integer ops used here; the A53 has no public timing tables, so the same is assumed).
  - Integer instructions (address arithmetic, loop control, scalar code) issue alongside NEON at
    best (dual issue: the fast end of the range is max(NEON cycles, all instructions / 2)) and
    after it at worst (the slow end: NEON cycles + integer instructions at 1 per cycle).
  - Every load hits the L1 cache and every branch is predicted. The tiles are sized for that
    (32 images, a block of weight rows), but the int8 MLP's 100 KB of first-layer weights
    stream from L2 (512 KB on a Zynq-7000, 1 MB on a ZU+), so its real figure is nearer the slow
    end, and can be below it.
  - Clocks: 650 MHz for the PYNQ-Z1's Cortex-A9 (its Zynq-7020 speed grade), 1.3 GHz for the
    KV260's Cortex-A53 (1.333 GHz). The A53 is ARMv8.0: it runs the "neon" set, not
    "neon-dotprod" (ARMv8.2, e.g. Cortex-A55/A76), whose counts are shown for comparison.
For scale: seed paper 001 reports 710 images/s for its binarized MLP on a PYNQ-Z1's ARM.
"""
import argparse
import os
import subprocess
import sys
import tempfile

MODELS = ["mnist-bnn-tfc", "mnist-int8-mlp", "mnist-lenet5-int8"]
CLASSES = ["simd128", "simd64", "simd_memory", "memory", "other"]
# (arch, qemu, build flag, kernel sets counted, core, clock in Hz, sets the core runs)
TARGETS = [
    ("armhf", "qemu-arm", "armhf_build", ["portable", "neon"], "Cortex-A9 (PYNQ-Z1/Z2)", 650e6,
     ["portable", "neon"]),
    ("arm64", "qemu-aarch64", "arm64_build", ["portable", "neon", "neon-dotprod"],
     "Cortex-A53 (KV260)", 1.3e9, ["portable", "neon"]),
]


def counts(qemu_cmd, plugin, bench, model_file, kernels, batch, runs):
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as log:
        subprocess.run(qemu_cmd + ["-plugin", plugin, "-d", "plugin", "-D", log.name, bench,
                                   f"--kernels={kernels}", f"--batch={batch}", f"--runs={runs}",
                                   "--repeats=1", "--json", model_file],
                       check=True, stdout=subprocess.DEVNULL)
        result = {}
        for line in log:
            fields = line.split()
            if len(fields) == 3 and fields[0] == "class":
                result[fields[1]] = int(fields[2])
        return result


def per_image(qemu_cmd, plugin, bench, model_file, kernels, batch):
    one = counts(qemu_cmd, plugin, bench, model_file, kernels, batch, 1)
    three = counts(qemu_cmd, plugin, bench, model_file, kernels, batch, 3)
    return {c: (three.get(c, 0) - one.get(c, 0)) / (2 * batch) for c in CLASSES}


def cycles(mix):
    neon_instructions = mix["simd128"] + mix["simd64"] + mix["simd_memory"]
    neon = 2 * mix["simd128"] + mix["simd64"] + 2 * mix["simd_memory"]
    integer = mix["memory"] + mix["other"]
    return max(neon, (neon_instructions + integer) / 2), neon + integer


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(here, "..")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--armhf_build", default=os.path.join(root, "build-armhf"))
    parser.add_argument("--arm64_build", default=os.path.join(root, "build-arm64"))
    parser.add_argument("--sysroot", default=os.path.join(root, "build-cross", "sysroot-armhf"))
    parser.add_argument("--model_dir", default=os.path.join(root, "models", "zoo"))
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        plugin = os.path.join(work, "insn_mix.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", plugin,
                        os.path.join(here, "arm_insn_mix_plugin.c")], check=True)
        print(f"{'core':<24} {'model':<18} {'kernels':<13} {'instr/image':>11} {'NEON':>5} "
              f"{'cycles/image':>17} {'est. images/s':>19}")
        for arch, qemu, build, sets, core, clock, runs_on in TARGETS:
            bench = os.path.join(getattr(args, build), "bench", "cpu_backend_bench")
            if not os.path.exists(bench):
                sys.exit(f"{bench} is missing: cross-build it first (see --help)")
            qemu_cmd = [qemu] + (["-L", args.sysroot] if arch == "armhf" else [])
            for model in MODELS:
                model_file = os.path.join(args.model_dir, model + ".pim")
                for kernels in sets:
                    mix = per_image(qemu_cmd, plugin, bench, model_file, kernels, args.batch)
                    total = sum(mix.values())
                    neon_share = (mix["simd128"] + mix["simd64"] + mix["simd_memory"]) / total
                    fast, slow = cycles(mix)
                    estimate = (f"{clock / slow:>8,.0f} - {clock / fast:<8,.0f}"
                                if kernels in runs_on else "(not this core)")
                    print(f"{core:<24} {model:<18} {kernels:<13} {total:>11,.0f} "
                          f"{neon_share:>5.0%} {fast:>8,.0f} - {slow:<6,.0f} {estimate:>19}",
                          flush=True)
    print(f"estimates at {TARGETS[0][5] / 1e6:.0f} MHz (A9) and {TARGETS[1][5] / 1e9:.1f} GHz "
          "(A53); see this script's --help for the model and its assumptions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
