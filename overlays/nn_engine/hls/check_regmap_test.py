"""Tests check_regmap.py's parsing on a header in the Vitis HLS style and on the real
overlays/nn_engine/abi/registers.h. (No Vitis HLS here: the generated header is written by hand below, in the
layout abi/registers.h documents; a synthesis run is what confirms the layout.)"""
import os
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import check_regmap  # noqa: E402

REPO = pathlib.Path(os.environ.get("PYNQ_SOURCE_DIR", pathlib.Path(__file__).parents[3]))

GENERATED = """
#define XNN_ENGINE_CONTROL_ADDR_AP_CTRL       0x00
#define XNN_ENGINE_CONTROL_ADDR_PROGRAM_DATA  0x10
#define XNN_ENGINE_CONTROL_BITS_PROGRAM_DATA  64
#define XNN_ENGINE_CONTROL_ADDR_WEIGHTS_DATA  0x1c
#define XNN_ENGINE_CONTROL_ADDR_INPUT_DATA    0x28
#define XNN_ENGINE_CONTROL_ADDR_OUTPUT_DATA   0x34
#define XNN_ENGINE_CONTROL_ADDR_BATCH_DATA    0x40
#define XNN_ENGINE_CONTROL_ADDR_COMMAND_DATA  0x48
#define XNN_ENGINE_CONTROL_ADDR_TAG_DATA      0x50
#define XNN_ENGINE_CONTROL_ADDR_STATUS_DATA   0x58
#define XNN_ENGINE_CONTROL_ADDR_STATUS_CTRL   0x5c
#define XNN_ENGINE_CONTROL_ADDR_CHECKSUM_DATA 0x60
#define XNN_ENGINE_CONTROL_ADDR_ID_DATA       0x68
#define XNN_ENGINE_CONTROL_ADDR_VERSION_DATA  0x70
#define XNN_ENGINE_CONTROL_ADDR_CAPS_DATA     0x78
#define XNN_ENGINE_CONTROL_ADDR_SCRATCH_DATA  0x80
#define XNN_ENGINE_CONTROL_BITS_SCRATCH_DATA  64
#define XNN_ENGINE_CONTROL_ADDR_SLOT_DATA     0x8c
#define XNN_ENGINE_CONTROL_ADDR_KEY_DATA      0x94
#define XNN_ENGINE_CONTROL_ADDR_WEIGHTS_BASE_DATA 0x9c
#define XNN_ENGINE_CONTROL_ADDR_PARAMS_BASE_DATA  0xa4
#define XNN_ENGINE_CONTROL_ADDR_STORE_ROWS_DATA   0xac
#define XNN_ENGINE_CONTROL_ADDR_STORE_ROWS_CTRL   0xb0
#define XNN_ENGINE_CONTROL_ADDR_STORE_PARAMS_DATA 0xb4
#define XNN_ENGINE_CONTROL_ADDR_NEED_ROWS_DATA    0xbc
#define XNN_ENGINE_CONTROL_ADDR_NEED_PARAMS_DATA  0xc4
"""


class CheckRegmapTest(unittest.TestCase):
    def setUp(self):
        self.driver = check_regmap.driver_offsets((REPO / "overlays/nn_engine/abi/registers.h").read_text())

    def test_the_documented_layout_matches_the_driver(self):
        generated = check_regmap.generated_offsets(GENERATED)
        self.assertEqual(generated["PROGRAM"], 0x10)
        self.assertEqual(generated["CAPS"], 0x78)
        self.assertEqual(generated["WEIGHTS_BASE"], 0x9c)
        self.assertEqual(generated["NEED_PARAMS"], 0xc4)
        self.assertEqual(check_regmap.differences(generated, self.driver), [])

    def test_a_shifted_register_is_reported(self):
        generated = check_regmap.generated_offsets(GENERATED.replace("TAG_DATA      0x50",
                                                                     "TAG_DATA      0x4c"))
        self.assertEqual(check_regmap.differences(generated, self.driver),
                         ["TAG: generated 0x4c, kRegTag = 0x50"])

    def test_a_missing_argument_is_reported(self):
        generated = check_regmap.generated_offsets(GENERATED.replace("CAPS", "CAPZ"))
        self.assertIn("CAPS: not in the generated header",
                      check_regmap.differences(generated, self.driver))


if __name__ == "__main__":
    unittest.main()
