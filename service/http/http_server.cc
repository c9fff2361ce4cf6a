#include "service/http/http_server.h"

#include <sys/socket.h>

#include <chrono>
#include <exception>
#include <string_view>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "httplib.h"

namespace pynq::service::http {

namespace {

// Debian's Abseil has its own string_view, not std::string_view.
bool IsIdentity(std::string_view encoding) {
  return absl::EqualsIgnoreCase(absl::string_view(encoding.data(), encoding.size()), "identity");
}

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> ParseListenAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == std::string_view::npos ||
      !absl::SimpleAtoi(absl::string_view(address.data() + colon + 1, address.size() - colon - 1),
                        &port) ||
      port < 0 || port > 65535 || colon == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "HTTP listen address \"%s\" is not host:port (e.g. 0.0.0.0:8000, [::1]:0)", address));
  }
  std::string_view host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return HostPort{.host = std::string(host), .port = port};
}

// The method, path and headers of `request`; the body is left out (see HttpRequest::body).
HttpRequest Head(const httplib::Request& request) {
  HttpRequest head{.method = request.method, .path = request.path};
  for (const auto& [key, value] : request.headers) head.headers.emplace_back(key, value);
  return head;
}

void Write(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [key, value] : from.headers) to.set_header(key, value);
  to.set_content(from.body, from.content_type);
}

// The message of an error the library produced itself (no handler wrote a body).
std::string LibraryErrorMessage(int status, size_t max_body_bytes) {
  switch (status) {
    case 413:
      return absl::StrFormat("the request body is larger than the %d bytes allowed "
                             "(--http_max_body_bytes)",
                             max_body_bytes);
    case 414:
      return "the request URI is too long";
    case 400:
      return "malformed HTTP request";
    default:
      return absl::StrFormat("HTTP error %d", status);
  }
}

}  // namespace

std::optional<HttpResponse> CheckBodyFraming(const HttpRequest& request) {
  if (std::optional<std::string_view> encoding = request.Header("Content-Encoding");
      encoding.has_value() && !IsIdentity(*encoding)) {
    return JsonError(415, absl::StrFormat("Content-Encoding \"%s\" is not accepted; send the "
                                          "body uncompressed",
                                          *encoding));
  }
  if (std::optional<std::string_view> transfer = request.Header("Transfer-Encoding");
      transfer.has_value() && !IsIdentity(*transfer)) {
    return JsonError(411, absl::StrFormat("Transfer-Encoding \"%s\" is not accepted; send the "
                                          "body with Content-Length",
                                          *transfer));
  }
  // The library reads a body for these methods; without a length it could not be bounded.
  if ((request.method == "POST" || request.method == "PUT" || request.method == "PATCH") &&
      !request.Header("Content-Length").has_value()) {
    return JsonError(411, absl::StrCat("a ", request.method, " needs a Content-Length header"));
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options,
                                                              Handler handler) {
  absl::StatusOr<HostPort> address = ParseListenAddress(options.listen_address);
  if (!address.ok()) return address.status();
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  const size_t threads = options.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(options.max_body_bytes);
  // The library's default also sets SO_REUSEPORT, with which a second server binds the same port
  // and silently shares its connections; a port in use must be an error instead.
  http.set_socket_options([](socket_t socket) {
    const int on = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  });
  http.set_tcp_nodelay(true);
  // A kept-alive connection holds a pool thread. Closing it after 1000 requests (the library's
  // default is 5, which makes a client reconnect all the time) lets connections waiting for a
  // thread take turns when there are more clients than threads.
  http.set_keep_alive_max_count(1000);

  auto admit = options.admit;
  http.set_pre_routing_handler([admit](const httplib::Request& request,
                                       httplib::Response& response) {
    const HttpRequest head = Head(request);
    std::optional<HttpResponse> refusal = CheckBodyFraming(head);
    if (!refusal.has_value() && admit) refusal = admit(head);
    if (!refusal.has_value()) return httplib::Server::HandlerResponse::Unhandled;
    // The body was not read: the connection cannot carry another request.
    refusal->headers.emplace_back("Connection", "close");
    Write(*refusal, response);
    return httplib::Server::HandlerResponse::Handled;
  });
  auto serve = [handler = std::move(handler)](const httplib::Request& request,
                                              httplib::Response& response) {
    HttpRequest converted = Head(request);
    converted.body = request.body;
    Write(handler(converted), response);
  };
  // Every path and method reaches the handler, which routes (404 and 405 included).
  http.Get(".*", serve);
  http.Post(".*", serve);
  http.Put(".*", serve);
  http.Delete(".*", serve);
  http.Patch(".*", serve);
  http.Options(".*", serve);
  const size_t max_body_bytes = options.max_body_bytes;
  http.set_error_handler([max_body_bytes](const httplib::Request&, httplib::Response& response) {
    if (!response.body.empty()) return;
    Write(JsonError(response.status, LibraryErrorMessage(response.status, max_body_bytes)),
          response);
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        Write(JsonError(500, absl::StrCat("internal error: ", what)), response);
      });

  if (address->port == 0) {
    server->port_ = http.bind_to_any_port(address->host);
  } else if (http.bind_to_port(address->host, address->port)) {
    server->port_ = address->port;
  }
  if (server->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", options.listen_address,
                     " (address in use, or not an address of this host?)"));
  }
  server->thread_ = std::thread([&http] { http.listen_after_bind(); });
  // stop() only takes effect once the loop runs (is_running()); waiting here makes Stop() safe
  // right after Start().
  for (int waited_ms = 0; !http.is_running() && waited_ms < 10'000; ++waited_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!http.is_running()) {
    return absl::UnavailableError(
        absl::StrCat("the HTTP server on ", options.listen_address, " did not start"));
  }
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace pynq::service::http
