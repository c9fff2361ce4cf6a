// The virtual board behaves like the hardware where a careless driver breaks: non-coherent
// memory, clear-on-read ap_done, ignored ap_start while busy, range-checked DMA, injected faults,
// and the timing model's delay.
#include "accel/fpga/devices/sim/sim_device.h"

#include <cstring>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::accel {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<SimDevice> Board(SimDevice::Options options = {}) {
  auto board = SimDevice::Create(options);
  EXPECT_TRUE(board.ok()) << board.status();
  return std::move(*board);
}

absl::Status Start(SimDevice& board, uint32_t command) {
  if (absl::Status s = board.Write32(engine::kRegCommand, command); !s.ok()) return s;
  return board.Write32(engine::kRegCtrl, engine::kCtrlStart);
}

TEST(SimDeviceTest, MemoryIsNotCoherent) {
  auto board = Board();
  auto buffer = board->Allocate(100);
  ASSERT_TRUE(buffer.ok()) << buffer.status();
  DmaBuffer& b = **buffer;
  EXPECT_EQ(b.size(), 128u);
  EXPECT_EQ(b.device_address() % 64, 0u);
  std::memset(b.host(), 0x11, b.size());
  // Not synced: DDR still holds its power-on pattern, which is what syncing back shows.
  ASSERT_TRUE(b.SyncFromDevice(0, 8).ok());
  EXPECT_EQ(b.host()[0], 0xA5);
  EXPECT_EQ(b.host()[8], 0x11);
  std::memset(b.host(), 0x22, b.size());
  ASSERT_TRUE(b.SyncToDevice(0, 64).ok());
  std::memset(b.host(), 0, b.size());
  ASSERT_TRUE(b.SyncFromDevice(0, 128).ok());
  EXPECT_EQ(b.host()[63], 0x22);
  EXPECT_EQ(b.host()[64], 0xA5);  // outside the synced range
  EXPECT_EQ(b.SyncToDevice(64, 65).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(b.SyncFromDevice(129, 0).code(), absl::StatusCode::kOutOfRange);
}

TEST(SimDeviceTest, ApDoneClearsOnReadAndIdentifyFillsTheRegisters) {
  auto board = Board();
  auto ctrl = board->Read32(engine::kRegCtrl);
  ASSERT_TRUE(ctrl.ok());
  EXPECT_EQ(*ctrl, engine::kCtrlIdle);
  ASSERT_TRUE(Start(*board, engine::kCommandIdentify).ok());
  uint32_t seen = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while ((seen & engine::kCtrlDone) == 0 && absl::Now() < give_up) seen = *board->Read32(0);
  EXPECT_EQ(seen, engine::kCtrlDone | engine::kCtrlIdle | engine::kCtrlReady);
  EXPECT_EQ(*board->Read32(engine::kRegCtrl), engine::kCtrlIdle);  // cleared by the read above
  EXPECT_EQ(*board->Read32(engine::kRegId), engine::kEngineId);
  EXPECT_EQ(*board->Read32(engine::kRegId + 4), 1u);  // ap_vld
  EXPECT_EQ(*board->Read32(engine::kRegVersion) >> 16, 1u);
  // WaitForDone() consumes ap_done the same way.
  ASSERT_TRUE(Start(*board, engine::kCommandIdentify).ok());
  EXPECT_TRUE(board->WaitForDone(absl::Seconds(10)).ok());
  EXPECT_EQ(board->WaitForDone(absl::Milliseconds(1)).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(board->stats().calls, 2u);
}

TEST(SimDeviceTest, RegistersOutsideTheBlockAreOutOfRangeAndOutputsAreReadOnly) {
  auto board = Board();
  EXPECT_EQ(board->Read32(engine::kRegisterBlockBytes).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(board->Read32(0x11).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(board->Write32(0x1000, 1).code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(board->Write32(engine::kRegId, 7).ok());
  EXPECT_EQ(*board->Read32(engine::kRegId), 0u);
  ASSERT_TRUE(board->Write32(engine::kRegBatch, 9).ok());
  EXPECT_EQ(*board->Read32(engine::kRegBatch), 9u);
}

TEST(SimDeviceTest, HangIgnoresFurtherStartsUntilReset) {
  auto board = Board({.faults = {{.kind = SimFault::kHang}}});
  ASSERT_TRUE(board->Write32(engine::kRegBatch, 1).ok());
  ASSERT_TRUE(Start(*board, engine::kCommandRun).ok());
  ASSERT_TRUE(board->Write32(engine::kRegCtrl, engine::kCtrlStart).ok());
  absl::Status wait = board->WaitForDone(absl::Milliseconds(50));
  EXPECT_EQ(wait.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(wait.message()), HasSubstr("still busy"));
  EXPECT_EQ(*board->Read32(engine::kRegCtrl), engine::kCtrlStart);  // busy, not idle
  EXPECT_EQ(board->stats().ignored_starts, 1u);
  ASSERT_TRUE(board->Reset().ok());
  EXPECT_EQ(*board->Read32(engine::kRegCtrl), engine::kCtrlIdle);
  EXPECT_EQ(*board->Read32(engine::kRegBatch), 0u);  // a reset clears the arguments
  // The plan covered only the first RUN: the engine works again.
  ASSERT_TRUE(Start(*board, engine::kCommandIdentify).ok());
  EXPECT_TRUE(board->WaitForDone(absl::Seconds(10)).ok());
}

TEST(SimDeviceTest, BadDmaAddressIsAReportedBusError) {
  auto board = Board();
  // Program address 0 is below DDR (0x10000000).
  ASSERT_TRUE(Start(*board, engine::kCommandCheck).ok());
  absl::Status wait = board->WaitForDone(absl::Seconds(10));
  EXPECT_EQ(wait.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(wait.message()),
              HasSubstr("engine read of 8 bytes at 0x0 is outside DDR [0x10000000, 0x14000000)"));
  ASSERT_TRUE(board->Reset().ok());
  ASSERT_TRUE(Start(*board, engine::kCommandIdentify).ok());
  EXPECT_TRUE(board->WaitForDone(absl::Seconds(10)).ok());
}

TEST(SimDeviceTest, TimingModelDelaysDone) {
  // At 10 kHz, IDENTIFY's 16 cycles take 1.6 ms.
  auto board = Board({.timing = true, .clock_mhz = 0.01, .call_overhead = absl::ZeroDuration()});
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Start(*board, engine::kCommandIdentify).ok());
  ASSERT_TRUE(board->WaitForDone(absl::Seconds(10)).ok());
  EXPECT_GE(absl::Now() - start, absl::Microseconds(1600));
  EXPECT_EQ(board->stats().cycles_last, 16u);
}

TEST(SimDeviceTest, CreateRejectsBadOptions) {
  EXPECT_EQ(SimDevice::Create({.ddr_bytes = 4096}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SimDevice::Create({.ddr_base = 0x100}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SimDevice::Create({.clock_mhz = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SimDeviceTest, ArenaRunsOutAndReusesFreedRanges) {
  auto board = Board({.ddr_bytes = size_t{1} << 20});
  auto a = board->Allocate(600 << 10);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(board->Allocate(600 << 10).status().code(), absl::StatusCode::kResourceExhausted);
  const uint64_t address = (*a)->device_address();
  a->reset();
  auto b = board->Allocate(600 << 10);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->device_address(), address);
}

TEST(SimFaultPlanTest, Parses) {
  auto plan = ParseSimFaultPlan("hang:3");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->kind, SimFault::kHang);
  EXPECT_EQ(plan->first_run, 3u);
  EXPECT_EQ(plan->count, 1u);
  plan = ParseSimFaultPlan("corrupt:1:0");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->kind, SimFault::kCorruptOutput);
  EXPECT_EQ(plan->count, 0u);
  EXPECT_EQ(ParseSimFaultPlan("none")->kind, SimFault::kNone);
  EXPECT_EQ(ParseSimFaultPlan("bus_error")->kind, SimFault::kBusError);
  plan = ParseSimFaultPlan("flip_weight:50");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->kind, SimFault::kFlipWeightBit);
  EXPECT_EQ(plan->first_run, 50u);
  plan = ParseSimFaultPlan("hang:100:2:1000");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->every, 1000u);
  for (const char* bad : {"melt", "hang:0", "hang:x", "hang:1:2:3:4", "corrupt:1:-1", "hang:1:0:5",
                          "hang:1:6:5"}) {
    EXPECT_EQ(ParseSimFaultPlan(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto plans = ParseSimFaultPlans("hang:100:1:1000,flip_weight:600:1:1000");
  ASSERT_TRUE(plans.ok()) << plans.status();
  ASSERT_EQ(plans->size(), 2u);
  EXPECT_EQ((*plans)[1].kind, SimFault::kFlipWeightBit);
  EXPECT_TRUE(ParseSimFaultPlans("none")->empty());
  EXPECT_EQ(ParseSimFaultPlans("hang:1,melt").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pynq::accel
