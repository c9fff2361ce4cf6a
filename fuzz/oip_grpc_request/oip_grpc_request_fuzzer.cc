// Fuzz target: an Open Inference Protocol gRPC request as the service receives it: the bytes
// gRPC hands over are parsed as a ModelInferRequest (what the generated handler does), then read
// by the service's strict parser (service/oip/grpc_request_parser.h).
#include <cstddef>
#include <cstdint>

#include "inference/grpc_service.pb.h"
#include "service/oip/grpc_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ::inference::ModelInferRequest message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  (void)pynq::service::oip::ParseModelInferRequest(message);
  return 0;
}
