// The resource estimate (resource_model.h): each shipped configuration within 80% of its part,
// and the BRAM and DSP counts worked out by hand from the arrays and multipliers.
#include "overlays/nn_engine/resource_model.h"

#include "gtest/gtest.h"
#include "overlays/nn_engine/engine_config.h"

namespace pynq::engine {
namespace {

void ExpectWithin80Percent(const ResourceEstimate& e) {
  SCOPED_TRACE(e.part.name);
  EXPECT_LE(e.bram36 * 10, e.part.bram36 * 8) << e.bram36 << " BRAM36";
  EXPECT_LE(e.uram * 10, e.part.uram * 8) << e.uram << " URAM";
  EXPECT_LE(e.dsp48 * 10, e.part.dsp48 * 8) << e.dsp48 << " DSP48";
  EXPECT_LE(e.luts * 10, e.part.luts * 8) << e.luts << " LUTs";
}

TEST(ResourceModelTest, EachShippedConfigurationStaysWithin80PercentOfItsPart) {
  ExpectWithin80Percent(EstimateResources<PynqZ2EngineConfig>(kPynqZ2Part));
  ExpectWithin80Percent(EstimateResources<Kv260EngineConfig>(kKv260Part));
}

TEST(ResourceModelTest, BlockRamsComeFromTheArrays) {
  // 512 x 36 is a RAMB18's widest shape; 64 bits take two columns; 2,560 rows five of them.
  EXPECT_EQ(Bram18For(2560, 64), 10u);
  EXPECT_EQ(Bram18For(1024, 32), 2u);    // 1K x 18 twice, or 512 x 36 twice
  EXPECT_EQ(Bram18For(1024, 8), 1u);     // 2K x 9
  EXPECT_EQ(Bram18For(256, 128), 4u);    // 512 x 36, four columns
  EXPECT_EQ(UramFor(12288, 64), 3u);     // 4K x 72
  const ResourceEstimate z2 = EstimateResources<PynqZ2EngineConfig>(kPynqZ2Part);
  // Store 16 x 10, params 4 x (2 + 2 + 1), scores 4 x 1, FIFOs 2 x 4, m_axi 2 x (1024 x 64:
  // 2 x 2) BRAM18s.
  EXPECT_EQ(z2.bram36, (160u + 20 + 4 + 8 + 8) / 2);
  EXPECT_EQ(z2.uram, 0u);
  // 128 MACs, 4 requantizers x 4, 8 input quantizers, 12 for addresses.
  EXPECT_EQ(z2.dsp48, 128u + 16 + 8 + 12);
  const ResourceEstimate kv = EstimateResources<Kv260EngineConfig>(kKv260Part);
  EXPECT_EQ(kv.uram, 16u * 3);
  EXPECT_EQ(kv.dsp48, 128u + 16 + 16 + 12);
}

}  // namespace
}  // namespace pynq::engine
