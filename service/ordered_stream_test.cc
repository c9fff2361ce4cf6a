#include "service/ordered_stream.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::service {
namespace {

namespace v1 = ::pynq_infer::v1;

// ClassifyStream on OrderedStreamReactor, registered raw as the daemon does. Each request is
// answered at once with its tag; a request for the model "refused" fails in Submit, so the error
// path runs too.
class StreamService
    : public v1::Inference::WithRawCallbackMethod_ClassifyStream<v1::Inference::Service> {
 public:
  explicit StreamService(OpenCalls* calls) : calls_(calls) {}

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ClassifyStream(
      grpc::CallbackServerContext* context) override {
    return new OrderedStreamReactor<v1::ClassifyRequest, v1::ClassifyResponse>(
        calls_, {}, 4,
        [](const v1::ClassifyRequest& request, v1::ClassifyResponse* response,
           const InferenceRequest::Options&, std::function<void(const absl::Status&)> answered) {
          if (request.model() == "refused") return absl::NotFoundError("no model refused");
          response->set_tag(request.tag());
          answered(absl::OkStatus());
          return absl::OkStatus();
        },
        [](const v1::ClassifyRequest& request, const absl::Status& status,
           v1::ClassifyResponse* response) {
          response->set_tag(request.tag());
          response->mutable_error()->set_code(static_cast<int>(status.code()));
        });
  }

 private:
  OpenCalls* const calls_;
};

class OrderedStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override { server_->Shutdown(); }

  static v1::ClassifyRequest Request(int64_t tag, const std::string& model = "m") {
    v1::ClassifyRequest request;
    request.set_model(model);
    request.set_tag(tag);
    return request;
  }

  // Sends `frames` (serialized or not) on one ClassifyStream, half-closes, and returns the tags
  // of the responses in order and the stream's status.
  std::pair<std::vector<int64_t>, grpc::Status> SendFrames(const std::vector<std::string>& frames) {
    grpc::GenericStub stub(channel_);
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto call = stub.PrepareCall(&context, "/pynq_infer.v1.Inference/ClassifyStream", &cq);
    auto tag = [](intptr_t t) { return reinterpret_cast<void*>(t); };
    auto step = [&](intptr_t t) {
      void* got = nullptr;
      bool ok = false;
      EXPECT_TRUE(cq.Next(&got, &ok));
      EXPECT_EQ(got, tag(t));
      return ok;
    };
    call->StartCall(tag(1));
    step(1);
    for (const std::string& frame : frames) {
      grpc::Slice slice(frame);
      call->Write(grpc::ByteBuffer(&slice, 1), tag(2));
      if (!step(2)) break;
    }
    call->WritesDone(tag(3));
    step(3);
    std::vector<int64_t> tags;
    for (;;) {
      grpc::ByteBuffer buffer;
      call->Read(&buffer, tag(4));
      if (!step(4)) break;
      v1::ClassifyResponse response;
      EXPECT_TRUE(grpc::SerializationTraits<v1::ClassifyResponse>::Deserialize(&buffer, &response)
                      .ok());
      tags.push_back(response.tag());
    }
    grpc::Status status;
    call->Finish(&status, tag(5));
    step(5);
    return {tags, status};
  }

  OpenCalls calls_;
  StreamService service_{&calls_};
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(OrderedStreamTest, AnswersEveryFrameInOrderAndEndsOkOnHalfClose) {
  std::vector<std::string> frames;
  for (int i = 1; i <= 10; ++i) frames.push_back(Request(i, i == 4 ? "refused" : "m").SerializeAsString());
  auto [tags, status] = SendFrames(frames);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(tags, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST_F(OrderedStreamTest, AHalfCloseBeforeAnyFrameEndsOk) {
  auto [tags, status] = SendFrames({});
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(tags.empty());
}

TEST_F(OrderedStreamTest, AFrameThatDoesNotParseEndsTheStreamWithInvalidArgument) {
  // 0xff is field 31 with wire type 7, which does not exist.
  const std::string garbage = "\xff\xff\xff\xff";
  ASSERT_FALSE(v1::ClassifyRequest().ParseFromString(garbage));
  auto [tags, status] = SendFrames({Request(1).SerializeAsString(), Request(2).SerializeAsString(),
                                    garbage, Request(4).SerializeAsString()});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("frame 3 of the stream could not be parsed as a "
                                        "pynq_infer.v1.ClassifyRequest"),
            std::string::npos)
      << status.error_message();
  // The frames before it answered in order; none after it.
  EXPECT_EQ(tags, (std::vector<int64_t>{1, 2}));
}

TEST_F(OrderedStreamTest, AModelNameThatIsNotUtf8IsAFrameThatDoesNotParse) {
  // proto3 strings must be UTF-8: protobuf serializes this one (logging an error) but refuses to
  // parse it.
  v1::ClassifyRequest bad = Request(2, "\xc3\x28");
  std::string frame;
  ASSERT_TRUE(bad.SerializeToString(&frame));
  auto [tags, status] = SendFrames({frame});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("frame 1 of the stream"), std::string::npos)
      << status.error_message();
  EXPECT_TRUE(tags.empty());
}

}  // namespace
}  // namespace pynq::service
