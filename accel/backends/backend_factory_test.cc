#include "accel/backends/backend_factory.h"

#include <memory>
#include <string>
#include <vector>

#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::accel {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const Model> TestModel() {
  absl::StatusOr<std::shared_ptr<const Model>> model =
      Model::FromBytes(SerializeModel(RandomBnnSpec({.seed = 3, .hidden = {64}})));
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

// Runs one image through `accelerator`, so a backend that only looks right is caught.
void RunOne(Accelerator& accelerator) {
  const Model& model = accelerator.model();
  std::vector<uint8_t> image(model.input_bytes(), 200);
  std::vector<int32_t> scores(model.num_classes());
  EXPECT_TRUE(accelerator.Run(image, absl::MakeSpan(scores)).ok());
}

TEST(BackendKindsTest, FlagSpellingsRoundTripAndOthersAreRefused) {
  for (AcceleratorKind kind : {AcceleratorKind::kCpu, AcceleratorKind::kFpga,
                               AcceleratorKind::kAuto}) {
    AcceleratorKind parsed = AcceleratorKind::kCpu;
    std::string error;
    EXPECT_TRUE(AbslParseFlag(AbslUnparseFlag(kind), &parsed, &error)) << error;
    EXPECT_EQ(parsed, kind);
  }
  for (DeviceKind kind : {DeviceKind::kSim, DeviceKind::kXrt, DeviceKind::kMmio}) {
    DeviceKind parsed = DeviceKind::kSim;
    std::string error;
    EXPECT_TRUE(AbslParseFlag(AbslUnparseFlag(kind), &parsed, &error)) << error;
    EXPECT_EQ(parsed, kind);
  }
  EXPECT_EQ(AbslUnparseFlag(AcceleratorKind::kFpga), "fpga");
  EXPECT_EQ(AbslUnparseFlag(DeviceKind::kMmio), "mmio");
  AcceleratorKind accelerator = AcceleratorKind::kCpu;
  std::string error;
  EXPECT_FALSE(AbslParseFlag("gpu", &accelerator, &error));
  EXPECT_EQ(error, "\"gpu\" is not one of cpu, fpga, auto");
  DeviceKind device = DeviceKind::kSim;
  EXPECT_FALSE(AbslParseFlag("SIM", &device, &error));
  EXPECT_EQ(error, "\"SIM\" is not one of sim, xrt, mmio");
}

TEST(BackendFactoryTest, CpuServesWithoutAnEngine) {
  auto factory = BackendFactory::Create({.accelerator = AcceleratorKind::kCpu});
  ASSERT_TRUE(factory.ok()) << factory.status();
  EXPECT_EQ((*factory)->engine_health(), nullptr);
  EXPECT_EQ((*factory)->description(), "cpu");
  auto accelerator = (*factory)->Make(TestModel(), 16);
  ASSERT_TRUE(accelerator.ok()) << accelerator.status();
  EXPECT_EQ((*accelerator)->backend_name(), "cpu");
  EXPECT_EQ((*accelerator)->max_batch_size(), 16u);
  EXPECT_FALSE((*accelerator)->engine_report().has_value());
  RunOne(**accelerator);
}

TEST(BackendFactoryTest, FpgaOnTheVirtualBoardReportsTheEngine) {
  auto factory = BackendFactory::Create(
      {.accelerator = AcceleratorKind::kFpga, .device = DeviceKind::kSim, .cpu_fallback = false});
  ASSERT_TRUE(factory.ok()) << factory.status();
  EXPECT_THAT((*factory)->description(), HasSubstr("fpga engine on sim (virtual board, untimed)"));
  EngineHealth* health = (*factory)->engine_health();
  ASSERT_NE(health, nullptr);
  EXPECT_EQ(health->state(), EngineState::kOk);
  auto accelerator = (*factory)->Make(TestModel(), 8);
  ASSERT_TRUE(accelerator.ok()) << accelerator.status();
  EXPECT_EQ((*accelerator)->backend_name(), "fpga");
  RunOne(**accelerator);
  const std::optional<EngineReport> report = (*accelerator)->engine_report();
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->device, "sim");
  EXPECT_EQ(report->state, EngineState::kOk);
  EXPECT_EQ(report->engine_batches, 1u);
  EXPECT_EQ(report->fallback_batches, 0u);
}

TEST(BackendFactoryTest, AnEngineThatFaultsTellsTheHealthListener) {
  auto factory = BackendFactory::Create({.accelerator = AcceleratorKind::kFpga,
                                         .device = DeviceKind::kSim,
                                         .sim_fault = "corrupt:1:1"});
  ASSERT_TRUE(factory.ok()) << factory.status();
  std::vector<bool> changes;
  (*factory)->engine_health()->SetHealthListener([&changes](bool ok) { changes.push_back(ok); });
  auto accelerator = (*factory)->Make(TestModel(), 8);
  ASSERT_TRUE(accelerator.ok()) << accelerator.status();
  RunOne(**accelerator);  // corrupted, re-run on the CPU
  RunOne(**accelerator);  // the engine works again
  EXPECT_EQ(changes, (std::vector<bool>{false, true}));
  const std::optional<EngineReport> report = (*accelerator)->engine_report();
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->faults, 1u);
  EXPECT_EQ(report->faulted_batches, 1u);
  EXPECT_EQ(report->fallback_batches, 1u);
  EXPECT_FALSE(report->last_fault.empty());
  (*factory)->engine_health()->SetHealthListener(nullptr);
}

TEST(BackendFactoryTest, AutoFallsBackToTheCpuWhenTheDeviceDoesNotOpen) {
  const BackendOptions options = {.accelerator = AcceleratorKind::kAuto,
                                  .device = DeviceKind::kMmio,
                                  .overlay_manifest = "/nonexistent/nn_engine.manifest"};
  auto factory = BackendFactory::Create(options);
  ASSERT_TRUE(factory.ok()) << factory.status();
  EXPECT_EQ((*factory)->engine_health(), nullptr);
  EXPECT_THAT((*factory)->description(), HasSubstr("cpu (no FPGA engine: "));
  auto accelerator = (*factory)->Make(TestModel(), 4);
  ASSERT_TRUE(accelerator.ok()) << accelerator.status();
  EXPECT_EQ((*accelerator)->backend_name(), "cpu");

  BackendOptions required = options;
  required.accelerator = AcceleratorKind::kFpga;
  EXPECT_EQ(BackendFactory::Create(required).status().code(), absl::StatusCode::kNotFound);
}

TEST(BackendFactoryTest, RefusesABadFaultPlanOrTimeoutEvenOnTheCpu) {
  auto fault = BackendFactory::Create({.sim_fault = "hang:zero"});
  EXPECT_EQ(fault.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(fault.status().message(), HasSubstr("hang:zero"));
  EXPECT_EQ(BackendFactory::Create({.engine_timeout = absl::ZeroDuration()}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pynq::accel
