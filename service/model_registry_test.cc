#include "service/model_registry.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/inference_request.h"
#include "tests/support/temp_dir.h"

namespace pynq::service {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Writes a valid random binarized model named `name`, version `version`, to dir/file.
void WriteModel(const std::string& dir, const std::string& file, const std::string& name,
                const std::string& version, uint64_t seed = 3) {
  accel::ModelSpec spec = accel::RandomBnnSpec({.seed = seed, .hidden = {32}});
  spec.name = name;
  spec.version = version;
  const std::vector<uint8_t> bytes = accel::SerializeModel(spec);
  std::ofstream out(fs::path(dir) / file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good());
}

// Submits one image to `served` and counts the outcome.
struct Outcomes {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
};
absl::Status SubmitOne(const std::shared_ptr<const ServedModel>& served, Outcomes* outcomes) {
  static const std::string kImage(784, '\x80');
  auto request = std::make_shared<InferenceRequest>(
      *served->model, std::vector<std::string_view>{kImage},
      // Holds the version the way InferenceService does, until the request is answered.
      [served, outcomes](InferenceRequest& done) {
        (done.status().ok() ? outcomes->ok : outcomes->failed)++;
      });
  return served->batcher->Submit(std::move(request));
}

class ModelRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteModel(dir_, "alpha.pim", "alpha", "1"); }

  std::unique_ptr<ModelRegistry> MakeRegistry() {
    absl::StatusOr<std::unique_ptr<ModelRegistry>> registry = ModelRegistry::Create(
        {.model_dir = dir_, .batcher = {.max_batch_size = 8, .max_queue_images = 4096}});
    EXPECT_TRUE(registry.ok()) << registry.status();
    return registry.ok() ? *std::move(registry) : nullptr;
  }

  testing::TestTempDir temp_;
  const std::string dir_ = temp_.path();
};

TEST_F(ModelRegistryTest, LoadReplacesAndTheOldVersionStillAnswersWhatItHolds) {
  std::unique_ptr<ModelRegistry> registry = MakeRegistry();
  ASSERT_NE(registry, nullptr);
  std::shared_ptr<const ServedModel> old = registry->Find("alpha");
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->file_name, "alpha.pim");

  WriteModel(dir_, "alpha-v2.pim", "alpha", "2");
  absl::StatusOr<ModelRegistry::LoadResult> result = registry->Load("alpha-v2.pim");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->loaded->model->version(), "2");
  ASSERT_NE(result->replaced, nullptr);
  EXPECT_EQ(result->replaced.get(), old.get());
  EXPECT_EQ(registry->Find("alpha")->model->version(), "2");
  EXPECT_EQ(registry->models().size(), 1u);
  // Metrics belong to the name.
  EXPECT_EQ(registry->Find("alpha")->metrics.get(), old->metrics.get());

  // The replaced version still accepts and answers a request through the reference it gave out.
  Outcomes outcomes;
  ASSERT_TRUE(SubmitOne(old, &outcomes).ok());
  old.reset();
  result = ModelRegistry::LoadResult{};
  registry->Drain();
  EXPECT_EQ(outcomes.ok.load(), 1);
  EXPECT_EQ(outcomes.failed.load(), 0);
}

TEST_F(ModelRegistryTest, LoadAddsANewNameAndUnloadRemovesIt) {
  std::unique_ptr<ModelRegistry> registry = MakeRegistry();
  ASSERT_NE(registry, nullptr);
  WriteModel(dir_, "beta.pim", "beta", "7");
  absl::StatusOr<ModelRegistry::LoadResult> result = registry->Load("beta.pim");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->replaced, nullptr);
  EXPECT_EQ(registry->models().size(), 2u);
  ModelMetrics* beta_metrics = result->loaded->metrics.get();
  result = ModelRegistry::LoadResult{};

  absl::StatusOr<std::shared_ptr<const ServedModel>> unloaded = registry->Unload("beta");
  ASSERT_TRUE(unloaded.ok()) << unloaded.status();
  EXPECT_EQ((*unloaded)->model->version(), "7");
  unloaded->reset();
  EXPECT_EQ(registry->Find("beta"), nullptr);
  EXPECT_EQ(registry->models().size(), 1u);

  absl::StatusOr<std::shared_ptr<const ServedModel>> again = registry->Unload("beta");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(again.status().message(), HasSubstr("\"beta\" is not loaded"));

  // Loaded again, the name continues its metrics.
  result = registry->Load("beta.pim");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->loaded->metrics.get(), beta_metrics);
}

TEST_F(ModelRegistryTest, LoadRejectsPathsOutsideTheModelDirectory) {
  std::unique_ptr<ModelRegistry> registry = MakeRegistry();
  ASSERT_NE(registry, nullptr);
  const testing::TestTempDir outside_dir;
  const std::string outside = outside_dir.path();
  WriteModel(outside, "evil.pim", "evil", "1");
  fs::create_directory(fs::path(dir_) / "sub");
  WriteModel(dir_ + "/sub", "nested.pim", "nested", "1");
  fs::create_symlink(fs::path(outside) / "evil.pim", fs::path(dir_) / "link-out.pim");
  fs::create_symlink(fs::path(dir_) / "sub" / "nested.pim", fs::path(dir_) / "link-sub.pim");
  fs::create_symlink(fs::path(dir_) / "alpha.pim", fs::path(dir_) / "link-in.pim");

  struct Case {
    std::string file;
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", absl::StatusCode::kInvalidArgument, "file name is empty"},
      {outside + "/evil.pim", absl::StatusCode::kInvalidArgument, "is an absolute path"},
      {"../evil.pim", absl::StatusCode::kInvalidArgument, "contains \"..\""},
      {"sub/../alpha.pim", absl::StatusCode::kInvalidArgument, "contains \"..\""},
      {"sub/nested.pim", absl::StatusCode::kInvalidArgument, "names a subdirectory"},
      {"alpha.txt", absl::StatusCode::kInvalidArgument, "is not a *.pim model file"},
      {"missing.pim", absl::StatusCode::kNotFound, "cannot open \"missing.pim\""},
      {"link-out.pim", absl::StatusCode::kPermissionDenied, "which is not in the model directory"},
      {"link-sub.pim", absl::StatusCode::kPermissionDenied, "which is not in the model directory"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ModelRegistry::LoadResult> result = registry->Load(c.file);
    EXPECT_EQ(result.status().code(), c.code) << c.file << ": " << result.status();
    EXPECT_THAT(result.status().message(), HasSubstr(c.message)) << c.file;
  }
  EXPECT_EQ(registry->Find("evil"), nullptr);
  EXPECT_EQ(registry->Find("nested"), nullptr);

  // A link to a file of the directory itself is that file.
  absl::StatusOr<ModelRegistry::LoadResult> linked = registry->Load("link-in.pim");
  ASSERT_TRUE(linked.ok()) << linked.status();
  EXPECT_EQ(linked->loaded->model->name(), "alpha");
}

TEST_F(ModelRegistryTest, ABadFileKeepsTheLoadersCodeAndChangesNothing) {
  std::unique_ptr<ModelRegistry> registry = MakeRegistry();
  ASSERT_NE(registry, nullptr);
  accel::ModelSpec spec = accel::RandomBnnSpec({.seed = 3, .hidden = {32}});
  spec.name = "alpha";
  std::vector<uint8_t> bytes = accel::SerializeModel(spec);
  bytes[bytes.size() / 2] ^= 0xff;  // the CRC no longer matches
  std::ofstream(fs::path(dir_) / "broken.pim", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  absl::StatusOr<ModelRegistry::LoadResult> result = registry->Load("broken.pim");
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDataLoss) << result.status();
  EXPECT_EQ(registry->Find("alpha")->model->version(), "1");
}

// Lookups and submissions from several threads while the model is replaced, unloaded and loaded
// again: every request a version accepted is answered OK (run under ThreadSanitizer too).
TEST_F(ModelRegistryTest, ConcurrentLookupsWhileSwapping) {
  std::unique_ptr<ModelRegistry> registry = MakeRegistry();
  ASSERT_NE(registry, nullptr);
  WriteModel(dir_, "alpha-v2.pim", "alpha", "2");
  std::atomic<bool> stop{false};
  Outcomes outcomes;
  std::atomic<int> accepted{0};
  std::atomic<int> not_served{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop.load()) {
        std::shared_ptr<const ServedModel> served = registry->Find("alpha");
        if (served == nullptr) {
          ++not_served;
          continue;
        }
        (SubmitOne(served, &outcomes).ok() ? accepted : refused)++;
        // Stay well inside the queue bound, so no refusal is a full queue.
        while (accepted.load() - outcomes.ok.load() - outcomes.failed.load() > 256 && !stop) {
          std::this_thread::yield();
        }
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(registry->Load(round % 2 == 0 ? "alpha-v2.pim" : "alpha.pim").ok());
    if (round % 5 == 4) {
      ASSERT_TRUE(registry->Unload("alpha").ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ASSERT_TRUE(registry->Load("alpha.pim").ok());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop = true;
  for (std::thread& t : clients) t.join();
  registry->Drain();
  EXPECT_GT(accepted.load(), 0);
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(outcomes.ok.load(), accepted.load());
  EXPECT_EQ(outcomes.failed.load(), 0);
  // Every version counted its images in the name's one set of metrics.
  EXPECT_EQ(registry->Find("alpha")->metrics->Snapshot(absl::Now()).images,
            static_cast<uint64_t>(accepted.load()));
}

}  // namespace
}  // namespace pynq::service
