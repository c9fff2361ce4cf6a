#include "service/fpga_presence.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pynq::service {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Builds a fake /sys in a temporary directory, shaped like a board's.
class FpgaPresenceTest : public ::testing::Test {
 protected:

  void WriteFile(const fs::path& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  // class/drm/<node>/device/driver -> a driver directory named `driver`.
  void AddRenderNode(const std::string& node, const std::string& driver) {
    const fs::path device = root_ / "devices/platform" / node;
    fs::create_directories(device);
    fs::create_directories(root_ / "bus/platform/drivers" / driver);
    fs::create_directory_symlink(root_ / "bus/platform/drivers" / driver, device / "driver");
    fs::create_directories(root_ / "class/drm" / node);
    fs::create_directory_symlink(device, root_ / "class/drm" / node / "device");
  }

  testing::TestTempDir temp_;
  const fs::path root_ = temp_.path();
};

TEST_F(FpgaPresenceTest, EmptySysfsHasNoFpgaAndSaysWhereItLooked) {
  FpgaPresence fpga = DetectFpga(root_);
  EXPECT_FALSE(fpga.present());
  EXPECT_THAT(fpga.Describe(), HasSubstr("no FPGA found"));
  EXPECT_THAT(fpga.Describe(), HasSubstr("/sys/class/fpga_manager/fpga*"));
}

TEST_F(FpgaPresenceTest, FindsFpgaManagersWithNameAndState) {
  WriteFile("class/fpga_manager/fpga0/name", "Xilinx Zynq FPGA Manager\n");
  WriteFile("class/fpga_manager/fpga0/state", "operating\n");
  FpgaPresence fpga = DetectFpga(root_);
  ASSERT_TRUE(fpga.present());
  ASSERT_EQ(fpga.managers.size(), 1u);
  EXPECT_EQ(fpga.managers[0].name, "Xilinx Zynq FPGA Manager");
  EXPECT_EQ(fpga.managers[0].state, "operating");
  EXPECT_EQ(fpga.Describe(), "FPGA found: FPGA manager " +
                                 (root_ / "class/fpga_manager/fpga0").string() +
                                 " (Xilinx Zynq FPGA Manager, state operating)");
}

TEST_F(FpgaPresenceTest, SkipsAManagerWhoseAttributesCannotBeRead) {
  fs::create_directories(root_ / "class/fpga_manager/fpga0");
  EXPECT_FALSE(DetectFpga(root_).present());
}

TEST_F(FpgaPresenceTest, CountsOnlyRenderNodesOfXrtDrivers) {
  AddRenderNode("renderD128", "zocl");
  AddRenderNode("renderD129", "amdgpu");
  FpgaPresence fpga = DetectFpga(root_);
  ASSERT_EQ(fpga.xrt_nodes.size(), 1u);
  EXPECT_EQ(fpga.xrt_nodes[0].device, "/dev/dri/renderD128");
  EXPECT_EQ(fpga.xrt_nodes[0].driver, "zocl");
  EXPECT_TRUE(fpga.managers.empty());
  EXPECT_THAT(fpga.Describe(), HasSubstr("XRT device /dev/dri/renderD128 (driver zocl)"));
}

TEST_F(FpgaPresenceTest, AGpuAloneIsNoFpga) {
  AddRenderNode("renderD128", "i915");
  EXPECT_FALSE(DetectFpga(root_).present());
}

}  // namespace
}  // namespace pynq::service
