// XrtDevice is compiled and linked against the real XRT; no machine that runs these tests has an
// FPGA, so what can be checked is that it fails clearly: a missing xclbin is kNotFound, and an
// existing one with no device behind it is kUnavailable with XRT's own explanation.
#include "accel/fpga/devices/xrt/xrt_device.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pynq::accel {
namespace {

using ::testing::HasSubstr;

TEST(XrtDeviceTest, MissingXclbinIsNotFound) {
  auto device = XrtDevice::Create({.xclbin_path = "/nonexistent/nn_engine.xclbin"});
  EXPECT_EQ(device.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(device.status().message()),
              HasSubstr("no xclbin at /nonexistent/nn_engine.xclbin"));
}

TEST(XrtDeviceTest, NoDeviceIsUnavailableWithXrtsReason) {
  const std::string xclbin = testing::TestTempPath("empty.xclbin");
  std::ofstream(xclbin) << "not really an xclbin";
  auto device = XrtDevice::Create({.xclbin_path = xclbin, .device_index = 0});
  EXPECT_EQ(device.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(device.status().message()), HasSubstr("xrt: cannot open device 0: "));
}

TEST(XrtDeviceTest, OptionsComeFromTheManifest) {
  auto manifest = ParseOverlayManifest(
      "format = 1\nboard = kv260\ndevice = xrt\nbitstream = nn_engine.xclbin\n"
      "ip_name = nn_engine\nclock_mhz = 200\ndevice_index = 1\n",
      "/opt/overlay");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  XrtDevice::Options options = XrtDevice::OptionsFromManifest(*manifest);
  EXPECT_EQ(options.xclbin_path, "/opt/overlay/nn_engine.xclbin");
  EXPECT_EQ(options.device_index, 1u);
  EXPECT_EQ(options.kernel_name, "nn_engine");
}

}  // namespace
}  // namespace pynq::accel
