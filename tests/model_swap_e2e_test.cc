// Models swapped at run time in the real daemon: LoadModel replacing mnist-bnn-tfc, and
// UnloadModel + LoadModel, while several client threads keep classifying. Every request accepted
// must be answered, with the scores of the golden file (both versions hold the same weights; the
// test writes a copy of the shipped model with version 1.0.1 into a temporary model directory),
// and requests that arrive while the model is unloaded get NOT_FOUND.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "accel/model/model.h"
#include "accel/model/model_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"
#include "tests/support/daemon_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_data.h"

namespace pynq {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::pynq_infer::v1;
using ::testing::HasSubstr;

constexpr char kModel[] = "mnist-bnn-tfc";
constexpr char kShippedVersion[] = "1.0.0";
constexpr char kCopyVersion[] = "1.0.1";
constexpr char kCopyFile[] = "mnist-bnn-tfc-v2.pim";
constexpr int kClients = 4;
constexpr int kImagesPerRequest = 4;

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// The shipped model with its version string changed (same length, so no offset moves) and the
// CRC recomputed; checked by loading it.
std::vector<uint8_t> WithVersion(std::vector<uint8_t> file, const std::string& from,
                                 const std::string& to) {
  auto at = std::search(file.begin(), file.end(), from.begin(), from.end());
  EXPECT_NE(at, file.end());
  EXPECT_EQ(std::search(at + 1, file.end(), from.begin(), from.end()), file.end())
      << "the version string occurs more than once";
  std::copy(to.begin(), to.end(), at);
  accel::RewriteChecksum(file);
  absl::StatusOr<std::shared_ptr<const accel::Model>> model = accel::Model::FromBytes(file);
  EXPECT_TRUE(model.ok()) << model.status();
  if (model.ok()) {
    EXPECT_EQ((*model)->version(), to);
  }
  return file;
}

class ModelSwapE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto heldout = testing::ReadHeldOutSet(kModel);
    ASSERT_TRUE(heldout.ok()) << heldout.status();
    heldout_ = *std::move(heldout);
    shipped_ = ReadBytes(testing::ShippedModelPath(kModel));
    WriteBytes(dir_ + "/mnist-bnn-tfc.pim", shipped_);
  }

  std::unique_ptr<testing::DaemonProcess> StartDaemon(bool allow_management) {
    absl::StatusOr<std::unique_ptr<testing::DaemonProcess>> daemon = testing::DaemonProcess::Start(
        {.args = {"--model_dir=" + dir_, "--accelerator=cpu", "--max_queue_delay_us=200",
                  absl::StrCat("--allow_model_management=", allow_management ? "true" : "false")}});
    EXPECT_TRUE(daemon.ok()) << daemon.status();
    return daemon.ok() ? *std::move(daemon) : nullptr;
  }

  v1::ClassifyRequest Request(size_t first) const {
    v1::ClassifyRequest request;
    request.set_model(kModel);
    for (int i = 0; i < kImagesPerRequest; ++i) {
      const absl::Span<const uint8_t> pixels =
          heldout_.images.image((first + static_cast<size_t>(i)) % heldout_.images.count);
      request.add_images(reinterpret_cast<const char*>(pixels.data()), pixels.size());
    }
    return request;
  }

  testing::TestSet heldout_;
  testing::TestTempDir temp_;
  const std::string dir_ = temp_.path();
  std::vector<uint8_t> shipped_;
};

grpc::Status Call(v1::Inference::Stub& stub, const v1::LoadModelRequest& request,
                  v1::LoadModelResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  return stub.LoadModel(&context, request, response);
}

grpc::Status Load(v1::Inference::Stub& stub, const std::string& file,
                  v1::LoadModelResponse* response) {
  v1::LoadModelRequest request;
  request.set_file(file);
  return Call(stub, request, response);
}

grpc::Status Unload(v1::Inference::Stub& stub, const std::string& model,
                    v1::UnloadModelResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  v1::UnloadModelRequest request;
  request.set_model(model);
  return stub.UnloadModel(&context, request, response);
}

TEST_F(ModelSwapE2eTest, ManagementIsOffByDefault) {
  std::unique_ptr<testing::DaemonProcess> daemon = StartDaemon(false);
  ASSERT_NE(daemon, nullptr);
  auto stub = v1::Inference::NewStub(
      grpc::CreateChannel(daemon->address(), grpc::InsecureChannelCredentials()));
  v1::LoadModelResponse loaded;
  grpc::Status status = Load(*stub, "mnist-bnn-tfc.pim", &loaded);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("--allow_model_management"));
  v1::UnloadModelResponse unloaded;
  status = Unload(*stub, kModel, &unloaded);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("--allow_model_management"));
  EXPECT_EQ(*daemon->Stop(), 0);
}

TEST_F(ModelSwapE2eTest, LoadRejectsFilesOutsideTheModelDirectory) {
  std::unique_ptr<testing::DaemonProcess> daemon = StartDaemon(true);
  ASSERT_NE(daemon, nullptr);
  auto stub = v1::Inference::NewStub(
      grpc::CreateChannel(daemon->address(), grpc::InsecureChannelCredentials()));
  const std::string outside = dir_ + "-outside.pim";
  WriteBytes(outside, WithVersion(shipped_, kShippedVersion, kCopyVersion));
  fs::create_symlink(outside, dir_ + "/link.pim");
  struct Case {
    std::string file;
    grpc::StatusCode code;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {outside, grpc::StatusCode::INVALID_ARGUMENT, "is an absolute path"},
           {"../" + fs::path(outside).filename().string(), grpc::StatusCode::INVALID_ARGUMENT,
            "contains \"..\""},
           {"link.pim", grpc::StatusCode::PERMISSION_DENIED, "not in the model directory"},
           {"missing.pim", grpc::StatusCode::NOT_FOUND, "missing.pim"}}) {
    v1::LoadModelResponse response;
    const grpc::Status status = Load(*stub, c.file, &response);
    EXPECT_EQ(status.error_code(), c.code) << c.file << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.message)) << c.file;
  }
  v1::UnloadModelResponse unloaded;
  EXPECT_EQ(Unload(*stub, "no-such-model", &unloaded).error_code(), grpc::StatusCode::NOT_FOUND);
  fs::remove(outside);
  EXPECT_EQ(*daemon->Stop(), 0);
}

TEST_F(ModelSwapE2eTest, SwapsUnderLoadLoseNoRequest) {
  std::unique_ptr<testing::DaemonProcess> daemon = StartDaemon(true);
  ASSERT_NE(daemon, nullptr);
  // Written after the start: the daemon would refuse two files of one model name at start.
  WriteBytes(dir_ + "/" + kCopyFile, WithVersion(shipped_, kShippedVersion, kCopyVersion));
  const auto channel = grpc::CreateChannel(daemon->address(), grpc::InsecureChannelCredentials());
  auto stub = v1::Inference::NewStub(channel);

  std::atomic<bool> stop{false};
  std::atomic<int> served_shipped{0};
  std::atomic<int> served_copy{0};
  std::atomic<int> not_found{0};
  std::mutex failures_mu;
  std::vector<std::string> failures;
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto client = v1::Inference::NewStub(channel);
      for (size_t n = 0; !stop.load(); ++n) {
        const size_t first = (t * 500 + n * kImagesPerRequest) % heldout_.images.count;
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
        v1::ClassifyResponse response;
        const grpc::Status status = client->Classify(&context, Request(first), &response);
        std::string problem;
        if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
          ++not_found;
          continue;
        }
        if (!status.ok()) {
          problem = absl::StrCat("code ", status.error_code(), ": ", status.error_message());
        } else if (response.model_version() != kShippedVersion &&
                   response.model_version() != kCopyVersion) {
          problem = "version " + response.model_version();
        } else if (response.results_size() != kImagesPerRequest) {
          problem = absl::StrCat(response.results_size(), " results");
        } else {
          for (int i = 0; i < kImagesPerRequest && problem.empty(); ++i) {
            const absl::Span<const int32_t> expected =
                heldout_.golden.row((first + static_cast<size_t>(i)) % heldout_.images.count);
            const auto& scores = response.results(i).scores();
            if (!std::equal(scores.begin(), scores.end(), expected.begin(), expected.end())) {
              problem = absl::StrCat("image ", first + i, ": scores differ from the golden file");
            }
          }
          (response.model_version() == kShippedVersion ? served_shipped : served_copy)++;
        }
        if (!problem.empty()) {
          std::lock_guard lock(failures_mu);
          failures.push_back(problem);
        }
      }
    });
  }

  const auto pause = [] { absl::SleepFor(absl::Milliseconds(300)); };
  pause();
  v1::LoadModelResponse loaded;
  ASSERT_TRUE(Load(*stub, kCopyFile, &loaded).ok());
  EXPECT_EQ(loaded.model().version(), kCopyVersion);
  EXPECT_EQ(loaded.model().file(), kCopyFile);
  EXPECT_TRUE(loaded.replaced());
  EXPECT_EQ(loaded.replaced_version(), kShippedVersion);
  pause();
  ASSERT_TRUE(Load(*stub, "mnist-bnn-tfc.pim", &loaded).ok());
  EXPECT_EQ(loaded.replaced_version(), kCopyVersion);
  pause();
  v1::UnloadModelResponse unloaded;
  ASSERT_TRUE(Unload(*stub, kModel, &unloaded).ok());
  EXPECT_EQ(unloaded.version(), kShippedVersion);
  {
    // A request after the unload is not served.
    grpc::ClientContext context;
    v1::ClassifyResponse response;
    const grpc::Status status = stub->Classify(&context, Request(0), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_THAT(status.error_message(), HasSubstr("\"mnist-bnn-tfc\" is not loaded"));
  }
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_TRUE(Load(*stub, kCopyFile, &loaded).ok());
  EXPECT_FALSE(loaded.replaced());
  pause();
  stop = true;
  for (std::thread& t : clients) t.join();

  std::cout << "answered by " << kShippedVersion << ": " << served_shipped << ", by "
            << kCopyVersion << ": " << served_copy << ", NOT_FOUND while unloaded: " << not_found
            << "\n";
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_GT(served_shipped.load(), 0);
  EXPECT_GT(served_copy.load(), 0);
  EXPECT_GT(not_found.load(), 0);

  // Metrics are per name across versions: every answered request is counted, none failed.
  grpc::ClientContext context;
  v1::GetMetricsResponse metrics;
  ASSERT_TRUE(stub->GetMetrics(&context, v1::GetMetricsRequest(), &metrics).ok());
  ASSERT_EQ(metrics.models_size(), 1);
  EXPECT_EQ(metrics.models(0).requests_ok(),
            static_cast<uint64_t>(served_shipped.load() + served_copy.load()));
  EXPECT_EQ(metrics.models(0).requests_failed(), 0u);

  v1::ListModelsResponse listed;
  grpc::ClientContext list_context;
  ASSERT_TRUE(stub->ListModels(&list_context, v1::ListModelsRequest(), &listed).ok());
  ASSERT_EQ(listed.models_size(), 1);
  EXPECT_EQ(listed.models(0).version(), kCopyVersion);
  EXPECT_EQ(listed.models(0).file(), kCopyFile);
  EXPECT_EQ(listed.models(0).backend(), "cpu");
  EXPECT_EQ(*daemon->Stop(), 0);
}

}  // namespace
}  // namespace pynq
