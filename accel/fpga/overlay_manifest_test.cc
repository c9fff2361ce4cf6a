#include "accel/fpga/overlay_manifest.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/source_dir.h"

namespace pynq::accel {
namespace {

using ::testing::HasSubstr;

constexpr char kPynqZ2[] = R"(# a comment
format = 1
board = pynq-z2
device = mmio
bitstream = nn_engine.bit   # trailing comment
hwh = nn_engine.hwh
ip_name = nn_engine_0
clock_mhz = 100
base_address = 0x40000000
address_range = 0x10000
uio = /dev/uio0
udmabuf = udmabuf0
)";

TEST(OverlayManifestTest, ParsesAnMmioManifestAndResolvesFiles) {
  auto m = ParseOverlayManifest(kPynqZ2, "/usr/share/pynq-infer/overlay");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->board, "pynq-z2");
  EXPECT_EQ(m->device, "mmio");
  EXPECT_EQ(m->bitstream, "/usr/share/pynq-infer/overlay/nn_engine.bit");
  EXPECT_EQ(m->hwh, "/usr/share/pynq-infer/overlay/nn_engine.hwh");
  EXPECT_EQ(m->base_address, 0x40000000u);
  EXPECT_EQ(m->address_range, 0x10000u);
  EXPECT_EQ(m->clock_mhz, 100);
  EXPECT_EQ(m->uio, "/dev/uio0");
  EXPECT_EQ(m->udmabuf, "udmabuf0");
}

TEST(OverlayManifestTest, ShippedManifestsParse) {
  for (const char* board : {"pynq-z2", "kv260"}) {
    auto m =
        ReadOverlayManifest(testing::SourceDir() + "/overlays/" + board + "/nn_engine.manifest");
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->board, board);
    EXPECT_EQ(m->clock_mhz, 100);
  }
}

TEST(OverlayManifestTest, RejectsWhatIsWrongNamingIt) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::string base = "format = 1\nboard = b\nbitstream = x\nip_name = n\nclock_mhz = 100\n";
  const Case cases[] = {
      {base + "device = xrt\nbogus = 1\n", "line 7: unknown key \"bogus\""},
      {base + "device = xrt\nboard = c\n", "line 7: key \"board\" given twice"},
      {base + "device = xrt\njust words\n", "line 7 is not `key = value`"},
      {base + "device = pcie\n", "device \"pcie\" is neither mmio nor xrt"},
      {base + "device = mmio\nbase_address = 0x40000000\naddress_range = 0x10000\n",
       "device mmio needs key \"udmabuf\""},
      {"format = 2\nboard = b\ndevice = xrt\nbitstream = x\nip_name = n\nclock_mhz = 1\n",
       "this daemon reads format 1"},
      {"format = 1\ndevice = xrt\n", "required key \"board\" is missing"},
  };
  for (const Case& c : cases) {
    auto m = ParseOverlayManifest(c.text, "");
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(c.message));
  }
  EXPECT_EQ(ReadOverlayManifest("/nonexistent.manifest").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace pynq::accel
