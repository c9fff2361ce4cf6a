// A gRPC server interceptor that answers a request message which does not parse as
// INVALID_ARGUMENT naming the method, instead of what gRPC 1.51's callback API answers:
// UNIMPLEMENTED with an empty message (its handlers discard the deserialization error and fail
// the call as if the method had no implementation), which tells a client the method does not
// exist.
//
//   grpc::ServerBuilder builder;
//   std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
//   creators.push_back(std::make_unique<UnparsedRequestInterceptorFactory>());
//   builder.experimental().SetInterceptorCreators(std::move(creators));
//
// It applies to methods whose client sends one message (unary and server streaming), for every
// service on the server. When that message did not parse (gRPC gives the interceptor no message
// after receiving it) and the call then ends UNIMPLEMENTED, the status becomes
//   INVALID_ARGUMENT "the request could not be parsed as the request message of
//                     /pynq_infer.v1.Inference/Classify (not a valid protobuf encoding of it)"
// Other calls pass unchanged; a call to a method the server does not have never reaches it.
// Streams from the client are not covered: there gRPC reports a message that does not parse to
// the reactor as the end of the stream, which the interceptor cannot tell apart (it sees no
// message in both cases); the streaming methods are registered raw and their reactor parses each
// frame itself instead (ordered_stream.h).
//
// Thread-safety: gRPC makes one interceptor per call and calls it from one thread at a time.
#ifndef PYNQ_SERVICE_UNPARSED_REQUEST_H_
#define PYNQ_SERVICE_UNPARSED_REQUEST_H_

#include "grpcpp/support/server_interceptor.h"

namespace pynq::service {

class UnparsedRequestInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;
};

}  // namespace pynq::service

#endif  // PYNQ_SERVICE_UNPARSED_REQUEST_H_
