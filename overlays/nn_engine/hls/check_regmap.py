#!/usr/bin/env python3
"""Checks the register map Vitis HLS generated for the engine against overlays/nn_engine/abi/registers.h.

    check_regmap.py xnn_engine_hw.h overlays/nn_engine/abi/registers.h

Vitis HLS writes `#define XNN_ENGINE_CONTROL_ADDR_<ARG>_DATA 0x..` for every argument on the
s_axilite bundle `control`; the driver uses `constexpr uint32_t kReg<Name> = 0x..;`. Exits 1 and
lists every difference if they disagree (the bitstream would then not work with this driver).
Run by run_hls.tcl after export; its parsing is tested by check_regmap_test.py.
"""
import re
import sys

# Argument of nn_engine() -> the driver's constant for its (low) data word.
ARGUMENTS = {
    "PROGRAM": "kRegProgramLo",
    "WEIGHTS": "kRegWeightsLo",
    "INPUT": "kRegInputLo",
    "OUTPUT": "kRegOutputLo",
    "BATCH": "kRegBatch",
    "COMMAND": "kRegCommand",
    "TAG": "kRegTag",
    "STATUS": "kRegStatus",
    "CHECKSUM": "kRegChecksum",
    "ID": "kRegId",
    "VERSION": "kRegVersion",
    "CAPS": "kRegCaps",
    "SCRATCH": "kRegScratchLo",
    "SLOT": "kRegSlot",
    "KEY": "kRegKey",
    "WEIGHTS_BASE": "kRegWeightsBase",
    "PARAMS_BASE": "kRegParamsBase",
    "STORE_ROWS": "kRegStoreRows",
    "STORE_PARAMS": "kRegStoreParams",
    "NEED_ROWS": "kRegNeedRows",
    "NEED_PARAMS": "kRegNeedParams",
}


def generated_offsets(text):
    """{ARG: offset} from a Vitis HLS x<top>_hw.h."""
    pattern = re.compile(r"#define\s+X\w*_CONTROL_ADDR_(\w+?)_DATA(?:_0)?\s+0x([0-9a-fA-F]+)")
    return {m.group(1): int(m.group(2), 16) for m in pattern.finditer(text)}


def driver_offsets(text):
    """{kRegName: offset} from overlays/nn_engine/abi/registers.h."""
    pattern = re.compile(r"constexpr\s+uint32_t\s+(kReg\w+)\s*=\s*0x([0-9a-fA-F]+)\s*;")
    return {m.group(1): int(m.group(2), 16) for m in pattern.finditer(text)}


def differences(generated, driver):
    problems = []
    for argument, constant in ARGUMENTS.items():
        if argument not in generated:
            problems.append(f"{argument}: not in the generated header")
        elif constant not in driver:
            problems.append(f"{constant}: not in abi/registers.h")
        elif generated[argument] != driver[constant]:
            problems.append(f"{argument}: generated 0x{generated[argument]:02x}, "
                            f"{constant} = 0x{driver[constant]:02x}")
    return problems


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        generated = generated_offsets(f.read())
    with open(argv[2]) as f:
        driver = driver_offsets(f.read())
    problems = differences(generated, driver)
    for p in problems:
        print(f"register map mismatch: {p}", file=sys.stderr)
    if not problems:
        print(f"register map: {len(ARGUMENTS)} arguments match overlays/nn_engine/abi/registers.h")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
