// OnChipStore hands out disjoint rows, params rows and slots, first fit, with keys never reused,
// and takes them back.
#include "accel/fpga/onchip_store.h"

#include <set>

#include "gtest/gtest.h"

namespace pynq::accel {
namespace {

TEST(OnChipStoreTest, ReservationsAreDisjointFirstFitAndTakeBack) {
  OnChipStore store({.rows = 100, .params = 20, .slots = 3});
  auto a = store.Reserve(40, 5);
  auto b = store.Reserve(50, 10);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->weights_base, 0u);
  EXPECT_EQ(a->params_base, 0u);
  EXPECT_EQ(b->weights_base, 40u);
  EXPECT_EQ(b->params_base, 5u);
  EXPECT_NE(a->slot, b->slot);
  // 10 rows are left: 11 do not fit, 10 do.
  EXPECT_FALSE(store.Reserve(11, 1));
  EXPECT_EQ(store.usage().rows, 90u);
  store.Release(*a);
  // The hole at the front is reused; keys are not.
  auto c = store.Reserve(30, 5);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->weights_base, 0u);
  EXPECT_EQ(c->slot, a->slot);
  std::set<uint32_t> keys = {a->key, b->key, c->key};
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys.count(0), 0u);
  const OnChipStore::Usage usage = store.usage();
  EXPECT_EQ(usage.rows, 80u);
  EXPECT_EQ(usage.params, 15u);
  EXPECT_EQ(usage.residents, 2u);
}

TEST(OnChipStoreTest, ParamsRowsAndSlotsRunOutToo) {
  OnChipStore store({.rows = 1000, .params = 8, .slots = 2});
  ASSERT_TRUE(store.Reserve(1, 8));
  EXPECT_FALSE(store.Reserve(1, 1));  // no params rows
  ASSERT_TRUE(store.Reserve(1, 0));
  EXPECT_FALSE(store.Reserve(0, 0));  // no slot
  EXPECT_EQ(store.usage().residents, 2u);
}

}  // namespace
}  // namespace pynq::accel
