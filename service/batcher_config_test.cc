#include "service/batcher_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(BatcherConfigTest, EntriesOverrideTheDefaultsPerModel) {
  const Batcher::Options defaults{.max_batch_size = 64, .max_queue_images = 4096};
  auto by_model = ParseModelBatching(
      {"a:max_batch_size=128:preferred_batch_sizes=64/128", "b:max_queue_delay_us=2000"},
      defaults);
  ASSERT_TRUE(by_model.ok()) << by_model.status();
  ASSERT_EQ(by_model->size(), 2u);
  EXPECT_EQ(by_model->at("a").max_batch_size, 128u);
  EXPECT_THAT(by_model->at("a").preferred_batch_sizes, ElementsAre(64, 128));
  EXPECT_EQ(by_model->at("a").max_queue_images, 4096u);
  EXPECT_EQ(by_model->at("b").max_batch_size, 64u);
  EXPECT_EQ(by_model->at("b").max_queue_delay, absl::Milliseconds(2));
}

TEST(BatcherConfigTest, BadEntriesNameTheProblem) {
  auto no_key = ParseModelBatching({"a"}, {});
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_key.status().message(), HasSubstr("is not MODEL:KEY=VALUE"));
  auto unknown = ParseModelBatching({"a:batch=3"}, {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown key \"batch\""));
  auto negative = ParseModelBatching({"a:max_batch_size=-1"}, {});
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(negative.status().message(), HasSubstr("max_batch_size=-1 is not"));
  auto twice = ParseModelBatching({"a:max_batch_size=1", "a:max_batch_size=2"}, {});
  EXPECT_EQ(twice.status().code(), absl::StatusCode::kInvalidArgument);
  auto sizes = ParseBatchSizes("16,x");
  EXPECT_EQ(sizes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(sizes.status().message(), HasSubstr("\"x\""));
  EXPECT_THAT(*ParseBatchSizes(""), ElementsAre());
}

}  // namespace
}  // namespace pynq::service
