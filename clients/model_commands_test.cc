// `load` and `unload` (RunLoad(), RunUnload()) against a fake Inference service in the same
// process that records what it was asked and answers like the daemon.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "clients/commands.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::clients {
namespace {

using ::testing::HasSubstr;

// Serves "digits.pim" (model "digits", version "2", replacing version "1") and model "digits";
// anything else is NOT_FOUND, as the daemon answers.
class FakeModels final : public pynq_infer::v1::Inference::Service {
 public:
  grpc::Status LoadModel(grpc::ServerContext*, const pynq_infer::v1::LoadModelRequest* request,
                         pynq_infer::v1::LoadModelResponse* response) override {
    last_file = request->file();
    if (request->file() != "digits.pim") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such file " + request->file());
    }
    response->mutable_model()->set_name("digits");
    response->mutable_model()->set_version("2");
    response->mutable_model()->set_file("digits.pim");
    response->mutable_model()->set_backend("cpu");
    response->set_replaced(replace);
    if (replace) response->set_replaced_version("1");
    return grpc::Status::OK;
  }
  grpc::Status UnloadModel(grpc::ServerContext*, const pynq_infer::v1::UnloadModelRequest* request,
                           pynq_infer::v1::UnloadModelResponse* response) override {
    last_model = request->model();
    if (request->model() != "digits") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "model \"" + request->model() + "\" is not loaded");
    }
    response->set_version("2");
    return grpc::Status::OK;
  }

  bool replace = true;
  std::string last_file;
  std::string last_model;
};

class ModelCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  }
  void TearDown() override { server_->Shutdown(); }

  FakeModels fake_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ModelCommandsTest, LoadPrintsTheModelAndWhatItReplaced) {
  std::ostringstream out;
  ASSERT_TRUE(RunLoad({.file = "digits.pim"}, channel_, out).ok());
  EXPECT_EQ(fake_.last_file, "digits.pim");
  EXPECT_EQ(out.str(), "loaded digits version 2 from digits.pim (backend cpu), replacing version 1\n");

  fake_.replace = false;
  std::ostringstream fresh;
  ASSERT_TRUE(RunLoad({.file = "digits.pim"}, channel_, fresh).ok());
  EXPECT_EQ(fresh.str(), "loaded digits version 2 from digits.pim (backend cpu)\n");
}

TEST_F(ModelCommandsTest, LoadKeepsTheDaemonsCodeAndNamesTheFile) {
  std::ostringstream out;
  const absl::Status status = RunLoad({.file = "other.pim"}, channel_, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("LoadModel of \"other.pim\""));
  EXPECT_EQ(out.str(), "");
}

TEST_F(ModelCommandsTest, UnloadPrintsTheVersionUnloaded) {
  std::ostringstream out;
  ASSERT_TRUE(RunUnload({.model = "digits"}, channel_, out).ok());
  EXPECT_EQ(fake_.last_model, "digits");
  EXPECT_EQ(out.str(), "unloaded digits version 2\n");

  std::ostringstream missing;
  const absl::Status status = RunUnload({.model = "letters"}, channel_, missing);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("\"letters\" is not loaded"));
}

TEST_F(ModelCommandsTest, EmptyOperandsFailBeforeAnyRpc) {
  std::ostringstream out;
  EXPECT_EQ(RunLoad({.file = ""}, channel_, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunUnload({.model = ""}, channel_, out).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(fake_.last_file, "");
  EXPECT_EQ(fake_.last_model, "");
}

}  // namespace
}  // namespace pynq::clients
