# Vitis HLS: C simulation, synthesis and export of the engine, for one board.
#
#   vitis_hls -f overlays/nn_engine/hls/run_hls.tcl -tclargs pynq-z2   ;# Vivado IP (ip_catalog)
#   vitis_hls -f overlays/nn_engine/hls/run_hls.tcl -tclargs kv260     ;# Vitis kernel (.xo)
#
# Run from any directory; the project is created in ./nn_engine_<board>. After export it checks
# that the register map Vitis HLS generated equals overlays/nn_engine/abi/registers.h (check_regmap.py).
# NOT RUN in this repository's CI: there is no Vitis HLS there (see overlays/README.md).

if {[llength $argv] < 1} {
  error "usage: vitis_hls -f run_hls.tcl -tclargs pynq-z2|kv260"
}
set board [lindex $argv 0]
set here [file dirname [file normalize [info script]]]
set repo [file normalize "$here/../../.."]
# Each board has its engine configuration (overlays/nn_engine/engine_config.h): the PYNQ-Z2 build
# by default, the KV260's (128-bit port, weight store in UltraRAM) with PYNQ_ENGINE_KV260.
switch -- $board {
  pynq-z2 { set part xc7z020clg400-1;      set flow vivado; set format ip_catalog; set config "" }
  kv260   { set part xck26-sfvc784-2LV-c;  set flow vitis;  set format xo; set config "-DPYNQ_ENGINE_KV260" }
  default { error "unknown board $board: pynq-z2 or kv260" }
}
# The engine's sources are C++14 with the repository root on the include path, exactly as the
# CMake target engine_hls_testbench builds them.
set cflags "-std=c++14 -I$repo $config"

open_project -reset nn_engine_$board
set_top nn_engine
add_files "$repo/overlays/nn_engine/nn_engine.cc" -cflags $cflags
add_files -tb "$repo/overlays/nn_engine/hls/csim_main.cc" -cflags $cflags
open_solution -reset solution -flow_target $flow
set_part $part
# 100 MHz: FCLK_CLK0 on PYNQ-Z2, the link clock on KV260 (kv260/link.cfg).
create_clock -period 10 -name default

# The testbench LOADs the model into the store and runs every held-out image resident and
# streamed (hls/csim_main.cc).
csim_design -argv "$repo/models/zoo/mnist-bnn-tfc.pim $repo/models/data/mnist-heldout-images.idx3-ubyte $repo/models/golden/mnist-bnn-tfc.heldout-scores.idx2-int"
# What csynth must confirm on first contact, in nn_engine_<board>/solution/syn/report/ (details
# and the constants to correct in overlays/README.md "What csynth must confirm"):
#   - II = 1 achieved in every loop with `PIPELINE II = 1` (17 loops: the lane loops of
#     bnn_dense.h, int8_dense.h, int8_conv.h, maxpool.h; pass.h's input, copy, emit and output;
#     the loaders of weight_loader.h; program.h, plan.h, nn_engine.h);
#   - the DATAFLOW regions of pass.h (PassRegion) and weight_loader.h (LoadWeightRuns) accepted;
#   - each loop's iteration latency against its depth in engine_config.h "Cycle costs";
#   - the m_axi accesses inferred as bursts;
#   - utilization against engine_resource_report: PYNQ-Z2 about 200 BRAM_18K, 164 DSP, ~21k LUT;
#     KV260 48 URAM, about 100 BRAM_18K, 172 DSP, ~23k LUT; and the 10 ns clock met.
csynth_design
export_design -format $format -rtl verilog -vendor pynq-infer.org -library hls -version 1.0 \
  -output "[pwd]/nn_engine_$board.[expr {$format eq "xo" ? "xo" : "zip"}]"

# The generated driver header holds the register offsets Vitis HLS chose.
set hw_h [glob -nocomplain "nn_engine_$board/solution/impl/misc/drivers/nn_engine_v1_0/src/xnn_engine_hw.h"]
if {$hw_h eq ""} { error "no xnn_engine_hw.h was generated" }
exec python3 "$here/check_regmap.py" $hw_h "$repo/overlays/nn_engine/abi/registers.h"
exit
