# Vivado: the PYNQ-Z2 block design around the engine, to nn_engine.bit + nn_engine.hwh.
#
#   vitis_hls -f overlays/nn_engine/hls/run_hls.tcl -tclargs pynq-z2      ;# makes the IP
#   vivado -mode batch -source overlays/pynq-z2/build_bd.tcl -tclargs nn_engine_pynq-z2.zip
#
# The Zynq PS (board preset: DDR, MIO, 100 MHz FCLK_CLK0), the engine's AXI-Lite control slave
# on M_AXI_GP0 at 0x4000_0000 (nn_engine.manifest's base_address), its 64-bit m_axi master on
# S_AXI_HP0 into DDR. Needs the PYNQ-Z2 board files (tul.com.tw:pynq-z2) in Vivado's board store.
# NOT RUN in this repository's CI: there is no Vivado there (see overlays/README.md).

if {[llength $argv] < 1} {
  error "usage: vivado -mode batch -source build_bd.tcl -tclargs <exported IP zip>"
}
set ip_zip [file normalize [lindex $argv 0]]
set out [pwd]
set project "$out/nn_engine_pynq_z2"

create_project -force nn_engine_pynq_z2 $project -part xc7z020clg400-1
set_property board_part tul.com.tw:pynq-z2:part0:1.0 [current_project]
file mkdir "$project/ip_repo"
exec unzip -o $ip_zip -d "$project/ip_repo/nn_engine"
set_property ip_repo_paths "$project/ip_repo" [current_project]
update_ip_catalog

create_bd_design "nn_engine"
set ps [create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 ps7]
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 \
  -config {make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"} $ps
set_property -dict [list \
  CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {100} \
  CONFIG.PCW_USE_M_AXI_GP0 {1} \
  CONFIG.PCW_USE_S_AXI_HP0 {1} \
  CONFIG.PCW_S_AXI_HP0_DATA_WIDTH {64}] $ps

set engine [create_bd_cell -type ip -vlnv pynq-infer.org:hls:nn_engine:1.0 nn_engine_0]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
  -config {Master "/ps7/M_AXI_GP0" Clk "/ps7/FCLK_CLK0 (100 MHz)"} \
  [get_bd_intf_pins nn_engine_0/s_axi_control]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 \
  -config {Slave "/ps7/S_AXI_HP0" Clk "/ps7/FCLK_CLK0 (100 MHz)"} \
  [get_bd_intf_pins nn_engine_0/m_axi_gmem]

assign_bd_address
set_property offset 0x40000000 [get_bd_addr_segs {ps7/Data/SEG_nn_engine_0_Reg}]
set_property range 64K [get_bd_addr_segs {ps7/Data/SEG_nn_engine_0_Reg}]
validate_bd_design
save_bd_design

make_wrapper -files [get_files nn_engine.bd] -top
add_files -norecurse "$project/nn_engine_pynq_z2.gen/sources_1/bd/nn_engine/hdl/nn_engine_wrapper.v"
set_property top nn_engine_wrapper [current_fileset]
launch_runs impl_1 -to_step write_bitstream -jobs 2
wait_on_run impl_1
if {[get_property PROGRESS [get_runs impl_1]] ne "100%"} { error "implementation failed" }

# What the first implementation must confirm (overlays/README.md "What csynth must confirm"):
# utilization against engine_resource_report (PYNQ-Z2: 100 BRAM36, 164 DSP48, about 21,000 LUT
# for the engine) and 100 MHz met. The reports land next to the bitstream; negative slack stops.
open_run impl_1
report_utilization -hierarchical -file "$out/nn_engine_utilization.rpt"
report_timing_summary -file "$out/nn_engine_timing.rpt"
set wns [get_property SLACK [get_timing_paths -max_paths 1 -nworst 1 -setup]]
if {$wns < 0} { error "100 MHz not met: worst negative slack $wns ns (see nn_engine_timing.rpt)" }

# PYNQ's convention: the .bit and the .hwh side by side, with the same base name.
file copy -force "$project/nn_engine_pynq_z2.runs/impl_1/nn_engine_wrapper.bit" "$out/nn_engine.bit"
file copy -force "$project/nn_engine_pynq_z2.gen/sources_1/bd/nn_engine/hw_handoff/nn_engine.hwh" \
  "$out/nn_engine.hwh"
puts "wrote $out/nn_engine.bit and $out/nn_engine.hwh"
