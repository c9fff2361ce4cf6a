// A protobuf message as the JSON the Open Inference Protocol's REST endpoints answer: the field
// names of the .proto, 64-bit integers as JSON numbers (protobuf's own JSON mapping writes them
// as strings, which the REST specification's examples and Triton's clients do not expect), enums
// by name, maps as objects. Every scalar, repeated and map field is written, defaults included, so
// a client can rely on a key being there; a message field only when it is set.
//
//   nlohmann::json body = ProtoToJson(metadata_response);   // {"name": "...", "versions": [...]}
//
// A pure function.
#ifndef PYNQ_SERVICE_HTTP_PROTO_JSON_H_
#define PYNQ_SERVICE_HTTP_PROTO_JSON_H_

#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace pynq::service::http {

nlohmann::json ProtoToJson(const google::protobuf::Message& message);

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_PROTO_JSON_H_
