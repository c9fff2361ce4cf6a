// An HTTP request and response as the daemon's HTTP endpoints see them, independent of the HTTP
// library (http_server.h adapts cpp-httplib to them), so the endpoints are plain functions that
// tests call directly. Error bodies are JSON {"error": "..."} with the status that matches the
// error's code (HttpStatusOf()).
//
//   HttpResponse r = JsonError(absl::NotFoundError("model \"x\" is not loaded"));  // 404
#ifndef PYNQ_SERVICE_HTTP_HTTP_MESSAGE_H_
#define PYNQ_SERVICE_HTTP_HTTP_MESSAGE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace pynq::service::http {

struct HttpRequest {
  std::string method;
  // Decoded, without the query string.
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  // A view of the body, which the server keeps alive while the request is handled.
  std::string_view body;
  // The names (security::CertificateIdentities()) of the client certificate the TLS layer
  // verified; empty over plain HTTP, over TLS without client certificates, and in requests a
  // test builds.
  std::vector<std::string> client_identities;

  // The value of header `name` (case-insensitive), if present.
  std::optional<std::string_view> Header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// The HTTP status for an error code: kInvalidArgument, kFailedPrecondition and kOutOfRange 400,
// kUnauthenticated 401, kPermissionDenied 403, kNotFound 404, kAlreadyExists 409,
// kResourceExhausted 429, kCancelled 499, kUnimplemented 501, kUnavailable 503,
// kDeadlineExceeded 504, anything else 500; 200 for OK.
int HttpStatusOf(absl::StatusCode code);

// {"error": "<message>"} with HttpStatusOf(status.code()).
HttpResponse JsonError(const absl::Status& status);
// {"error": "<message>"} with `status`, for errors that have no absl code (405, 411, 413, ...).
HttpResponse JsonError(int status, std::string_view message);

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_HTTP_MESSAGE_H_
