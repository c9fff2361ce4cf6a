#include "service/unparsed_request.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pynq_infer/v1/inference.grpc.pb.h"

namespace pynq::service {
namespace {

namespace v1 = ::pynq_infer::v1;

// Answers every Classify with its tag, so a request that parses is told apart.
class EchoService : public v1::Inference::CallbackService {
  grpc::ServerUnaryReactor* Classify(grpc::CallbackServerContext* context,
                                     const v1::ClassifyRequest* request,
                                     v1::ClassifyResponse* response) override {
    response->set_tag(request->tag());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class UnparsedRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::make_unique<UnparsedRequestInterceptorFactory>());
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override { server_->Shutdown(); }

  grpc::Status CallWithBody(const std::string& method, const std::string& body) {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext context;
    grpc::Slice slice(body);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status result;
    absl::Notification done;
    stub.UnaryCall(&context, method, {}, &request, &response, [&](grpc::Status s) {
      result = std::move(s);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  EchoService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(UnparsedRequestTest, ABodyThatIsNotTheRequestIsInvalidArgumentNamingTheMethod) {
  // Field 1 (model, a string) with a length running past the end: not a ClassifyRequest.
  const grpc::Status status = CallWithBody("/pynq_infer.v1.Inference/Classify", "\x0a\x7f" "ab");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "the request could not be parsed as the request message of "
            "/pynq_infer.v1.Inference/Classify (not a valid protobuf encoding of it)");
}

TEST_F(UnparsedRequestTest, AStringFieldThatIsNotUtf8DoesNotParse) {
  v1::ClassifyRequest request;
  request.set_model("m\xff");
  const grpc::Status status =
      CallWithBody("/pynq_infer.v1.Inference/Classify", request.SerializePartialAsString());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(UnparsedRequestTest, RequestsThatParseAndUnknownMethodsAreUnchanged) {
  auto stub = v1::Inference::NewStub(channel_);
  grpc::ClientContext context;
  v1::ClassifyRequest request;
  request.set_tag(42);
  v1::ClassifyResponse response;
  ASSERT_TRUE(stub->Classify(&context, request, &response).ok());
  EXPECT_EQ(response.tag(), 42u);
  // A method the server does not have is still UNIMPLEMENTED, whatever its body.
  EXPECT_EQ(CallWithBody("/pynq_infer.v1.Inference/NoSuchMethod", "\x0a\x7f").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // And so is a method of the service this server does not implement.
  EXPECT_EQ(CallWithBody("/pynq_infer.v1.Inference/GetMetrics", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace pynq::service
