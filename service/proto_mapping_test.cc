#include "service/proto_mapping.h"

#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "accel/backends/backend_factory.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pynq::service {
namespace {

namespace v1 = ::pynq_infer::v1;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

TEST(TopClassesTest, BestFirstAndTiesByLowerIndex) {
  const std::vector<int32_t> scores = {3, 7, 7, -1, 5};
  EXPECT_THAT(TopClasses(scores, 3), ElementsAre(1, 2, 4));
  EXPECT_THAT(TopClasses(scores, 1), ElementsAre(1));
  EXPECT_THAT(TopClasses(scores, 0), ElementsAre());
  EXPECT_THAT(TopClasses(scores, 9), ElementsAre(1, 2, 4, 0, 3));
  const std::vector<int32_t> flat = {2, 2, 2};
  EXPECT_THAT(TopClasses(flat, 3), ElementsAre(0, 1, 2));
}

// A served model with a real batcher on `backend`, as the registry builds it.
class ProtoMappingTest : public ::testing::Test {
 protected:
  void Serve(accel::AcceleratorKind backend) {
    accel::ModelSpec spec = accel::RandomBnnSpec({.seed = 11, .hidden = {64}});
    spec.name = "mapped";
    spec.version = "2.1";
    auto model = accel::Model::FromBytes(accel::SerializeModel(spec));
    ASSERT_TRUE(model.ok()) << model.status();
    auto factory = accel::BackendFactory::Create(
        {.accelerator = backend, .device = accel::DeviceKind::kSim, .cpu_fallback = false});
    ASSERT_TRUE(factory.ok()) << factory.status();
    factory_ = *std::move(factory);
    auto accelerator = factory_->Make(*model, 8);
    ASSERT_TRUE(accelerator.ok()) << accelerator.status();
    served_.model = *model;
    served_.file_name = "mapped.pim";
    served_.metrics = std::make_shared<ModelMetrics>();
    auto batcher = Batcher::Create(*std::move(accelerator), {.max_batch_size = 8},
                                   served_.metrics.get());
    ASSERT_TRUE(batcher.ok()) << batcher.status();
    served_.batcher = *std::move(batcher);
  }

  void TearDown() override {
    // The batcher (and its accelerator) before the factory that owns the engine.
    served_.batcher.reset();
  }

  // Classifies `images` through the batcher and fills the response from the finished request.
  v1::ClassifyResponse Classify(const std::vector<std::vector<uint8_t>>& images, uint32_t top_k) {
    v1::ClassifyRequest request;
    request.set_model("mapped");
    request.set_top_k(top_k);
    request.set_tag(7);
    std::vector<std::string_view> views;
    for (const auto& image : images) {
      views.emplace_back(reinterpret_cast<const char*>(image.data()), image.size());
    }
    v1::ClassifyResponse response;
    std::promise<void> finished;
    scores_.clear();
    auto inference = std::make_shared<InferenceRequest>(
        *served_.model, views, [&](InferenceRequest& done) {
          EXPECT_TRUE(done.status().ok()) << done.status();
          for (size_t i = 0; i < done.image_count(); ++i) {
            scores_.emplace_back(done.scores(i).begin(), done.scores(i).end());
          }
          FillResults(request, done, served_, &response);
          finished.set_value();
        });
    EXPECT_TRUE(served_.batcher->Submit(inference).ok());
    finished.get_future().wait();
    return response;
  }

  std::unique_ptr<accel::BackendFactory> factory_;
  ServedModel served_;
  std::vector<std::vector<int32_t>> scores_;
};

TEST_F(ProtoMappingTest, FillResultsGivesScoresBestClassAndTopK) {
  Serve(accel::AcceleratorKind::kCpu);
  std::vector<std::vector<uint8_t>> images;
  for (uint8_t value : {0, 90, 255}) images.emplace_back(served_.model->input_bytes(), value);
  const v1::ClassifyResponse response = Classify(images, 3);
  EXPECT_EQ(response.model(), "mapped");
  EXPECT_EQ(response.model_version(), "2.1");
  EXPECT_EQ(response.backend(), "cpu");
  EXPECT_EQ(response.tag(), 7u);
  ASSERT_EQ(response.results_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const v1::Classification& result = response.results(i);
    EXPECT_THAT(result.scores(), ElementsAreArray(scores_[i]));
    const std::vector<uint32_t> best = TopClasses(scores_[i], 3);
    EXPECT_EQ(result.class_index(), best[0]);
    EXPECT_EQ(result.label(), served_.model->labels()[best[0]]);
    ASSERT_EQ(result.top_size(), 3);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(result.top(k).class_index(), best[k]);
      EXPECT_EQ(result.top(k).label(), served_.model->labels()[best[k]]);
      EXPECT_EQ(result.top(k).score(), scores_[i][best[k]]);
    }
    EXPECT_GE(result.batch_size(), 1u);
  }
  // top_k 0: the best class still, and no top list.
  const v1::ClassifyResponse bare = Classify({images[1]}, 0);
  ASSERT_EQ(bare.results_size(), 1);
  EXPECT_EQ(bare.results(0).class_index(), TopClasses(scores_[0], 1)[0]);
  EXPECT_EQ(bare.results(0).top_size(), 0);
}

TEST_F(ProtoMappingTest, ModelMetricsOnTheCpuHaveNoEngine) {
  Serve(accel::AcceleratorKind::kCpu);
  Classify({std::vector<uint8_t>(served_.model->input_bytes(), 9)}, 1);
  v1::ModelMetrics metrics;
  FillModelMetrics(served_, served_.metrics->Snapshot(absl::Now()), &metrics);
  EXPECT_EQ(metrics.model(), "mapped");
  EXPECT_EQ(metrics.backend(), "cpu");
  EXPECT_EQ(metrics.images(), 1u);
  EXPECT_EQ(metrics.batches(), 1u);
  EXPECT_EQ(metrics.max_batch_size(), 8u);
  EXPECT_EQ(metrics.failures_size(), static_cast<int>(kFailureReasons));
  EXPECT_EQ(metrics.device(), "");
  EXPECT_EQ(metrics.engine_state(), "");
}

TEST_F(ProtoMappingTest, ModelMetricsOnTheEngineReportItsStateAndCounters) {
  Serve(accel::AcceleratorKind::kFpga);
  Classify({std::vector<uint8_t>(served_.model->input_bytes(), 9)}, 1);
  v1::ModelMetrics metrics;
  FillModelMetrics(served_, served_.metrics->Snapshot(absl::Now()), &metrics);
  EXPECT_EQ(metrics.backend(), "fpga");
  EXPECT_EQ(metrics.device(), "sim");
  EXPECT_EQ(metrics.engine_state(), "ok");
  EXPECT_EQ(metrics.engine_faults(), 0u);
  EXPECT_EQ(metrics.fallback_batches(), 0u);
  EXPECT_EQ(metrics.last_engine_fault(), "");
}

TEST_F(ProtoMappingTest, ModelInfoDescribesTheModelAndItsServing) {
  Serve(accel::AcceleratorKind::kCpu);
  v1::ModelInfo info;
  FillModelInfo(served_, &info);
  EXPECT_EQ(info.name(), "mapped");
  EXPECT_EQ(info.version(), "2.1");
  EXPECT_EQ(info.channels(), 1u);
  EXPECT_EQ(info.height(), 28u);
  EXPECT_EQ(info.width(), 28u);
  EXPECT_EQ(info.input_bytes(), 784u);
  EXPECT_THAT(info.labels(), ElementsAreArray(served_.model->labels()));
  EXPECT_EQ(info.layers_size(), static_cast<int>(served_.model->layers().size()));
  EXPECT_EQ(info.backend(), "cpu");
  EXPECT_EQ(info.max_batch_size(), 8u);
  EXPECT_EQ(info.file(), "mapped.pim");
  EXPECT_EQ(info.file_bytes(), served_.model->file_bytes());
}

}  // namespace
}  // namespace pynq::service
