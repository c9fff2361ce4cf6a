#include "service/serving_health.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace pynq::service {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A registry over one random model written to a temporary directory, with a batch size the
// single-image requests never fill and a 60 s queue delay, so a queued image waits a known time.
class ServingHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    accel::ModelSpec spec = accel::RandomBnnSpec({.seed = 5});
    spec.name = "health-model";
    const std::vector<uint8_t> bytes = accel::SerializeModel(spec);
    std::ofstream(dir_ / "health-model.pim", std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    auto registry = ModelRegistry::Create(
        {.model_dir = dir_,
         .batcher = {.max_batch_size = 8, .max_queue_delay = absl::Seconds(60)}});
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = std::move(*registry);
    served_ = registry_->Find("health-model");
    ASSERT_NE(served_, nullptr);
    image_.assign(served_->model->input_bytes(), 1);
  }
  testing::TestTempDir temp_;
  const fs::path dir_ = temp_.path();
  std::unique_ptr<ModelRegistry> registry_;
  std::shared_ptr<const ServedModel> served_;
  std::string image_;
};

TEST_F(ServingHealthTest, AnIdleRegistryIsAlive) {
  EXPECT_TRUE(CheckDispatchAlive(*registry_, absl::Seconds(1), absl::Now() + absl::Hours(1)).ok());
}

TEST_F(ServingHealthTest, WorkWaitingPastItsDelayAndTheBoundIsNotAlive) {
  auto request = std::make_shared<InferenceRequest>(
      *served_->model, std::vector<std::string_view>{image_}, [](InferenceRequest&) {});
  ASSERT_TRUE(served_->batcher->Submit(request).ok());
  const absl::Time due = request->accepted_at() + absl::Seconds(60);
  EXPECT_TRUE(CheckDispatchAlive(*registry_, absl::Seconds(5), due + absl::Seconds(4)).ok());
  const absl::Status stuck =
      CheckDispatchAlive(*registry_, absl::Seconds(5), due + absl::Seconds(6));
  EXPECT_EQ(stuck.code(), absl::StatusCode::kUnavailable) << stuck;
  EXPECT_THAT(stuck.message(), HasSubstr("model health-model: the cpu dispatch thread is"));
  EXPECT_THAT(stuck.message(), HasSubstr("(limit 5s)"));
  registry_->Drain();
}

TEST_F(ServingHealthTest, DescribesEachModelWithBackendAndThroughput) {
  const absl::Time now = absl::Now();
  served_->metrics->RecordBatch(25, absl::Milliseconds(1), now);
  const double rate = served_->metrics->Snapshot(now).images_per_s_10s;
  ASSERT_GT(rate, 0);
  EXPECT_EQ(DescribeServing(*registry_, now),
            absl::StrFormat("serving health-model (cpu) at %.1f images/s", rate));
}

}  // namespace
}  // namespace pynq::service
