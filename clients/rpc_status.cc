#include "clients/rpc_status.h"

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "pynq_infer/v1/inference.pb.h"

namespace pynq::clients {

absl::Status FromGrpcStatus(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

absl::Status FromStreamError(const pynq_infer::v1::Error& error) {
  const auto code = static_cast<absl::StatusCode>(error.code());
  // StatusCodeToString() is empty for numbers absl does not know.
  if (error.code() == 0 || absl::StatusCodeToString(code).empty()) {
    return absl::UnknownError(
        absl::StrCat("(the server sent error code ", error.code(), ") ", error.message()));
  }
  return absl::Status(code, error.message());
}

}  // namespace pynq::clients
