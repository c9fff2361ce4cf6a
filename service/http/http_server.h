// The daemon's HTTP listener (--http_listen): cpp-httplib's server with a pool of threads, each
// request answered by one handler (RestApi::Handle()). Debian packages cpp-httplib (libcpp-
// httplib0.11) for amd64, arm64 and armhf, with OpenSSL built in; with Options::tls the listener
// serves HTTPS only, with the daemon's TLS material (the same as its gRPC port's).
//
//   PYNQ_ASSIGN_OR_RETURN(std::unique_ptr<HttpServer> server, HttpServer::Start(
//       {.listen_address = "0.0.0.0:8000", .tls = security.tls,
//        .admit = [&api](const HttpRequest& r) { return api.Admit(r); }},
//       [&api](const HttpRequest& request) { return api.Handle(request); }));
//   spdlog::info("HTTP on port {}", server->port());
//   server->Stop();   // stops accepting, waits for the requests in progress
//
// TLS. TLS 1.2 or later; a client that speaks plain HTTP to the port fails its handshake and gets
// no answer. With a client CA (TlsMaterial::requires_client_certificate()) every client must
// present a certificate that verifies against it, or the handshake fails before any request is
// read; the names of the verified certificate reach the admission check and the handler as
// HttpRequest::client_identities.
//
// Admission. Every request passes Admit() before its body is read and before any routing: it
// refuses, with a JSON error and the connection closed, a POST, PUT or PATCH without
// Content-Length (411: the body could not be bounded), a chunked or compressed body (411 / 415:
// its size would not be known before it is read or decompressed), and whatever Options::admit
// refuses (access control: RestApi::Admit(), a bearer token or the mTLS client identity).
// Bodies longer than max_body_bytes are answered 413 by the library; any other library-level
// error (a malformed request, 4xx/5xx without a body) gets a JSON error too.
//
// Thread-safety: handlers run concurrently on the pool's threads; Start() and Stop() from one
// thread.
#ifndef PYNQ_SERVICE_HTTP_HTTP_SERVER_H_
#define PYNQ_SERVICE_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "service/http/http_message.h"
#include "service/security/tls_material.h"

namespace httplib {
class Server;
}

namespace pynq::service::http {

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  struct Options {
    // host:port, e.g. "0.0.0.0:8000" or "[::1]:0"; port 0 picks a free port (see port()).
    std::string listen_address;
    // Requests handled at once (a kept-alive connection holds a thread while it is open); more
    // connections wait for a thread.
    size_t threads = 16;
    // Largest request body accepted; larger ones are answered 413.
    size_t max_body_bytes = 8 << 20;
    // Unset: plain HTTP. Set: HTTPS only, with its certificate chain and key, and with its
    // client CA, client certificates required (mTLS).
    std::optional<security::TlsMaterial> tls;
    // Called for every request after the built-in checks, before the body is read: its method,
    // path and headers (the body is empty). A response refuses the request with it; nullopt
    // admits it. Empty: every request is admitted.
    std::function<std::optional<HttpResponse>(const HttpRequest&)> admit;
  };

  // Binds and starts serving. kUnavailable if the address cannot be bound, kInvalidArgument if
  // it is not host:port or if OpenSSL refuses the TLS material (the message names the
  // --tls_cert, --tls_key or --tls_client_ca file and OpenSSL's reason).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const Options& options,
                                                           Handler handler);

  // Stops (see Stop()).
  ~HttpServer();

  int port() const { return port_; }

  // Stops accepting connections and waits until the serving thread has ended; requests in
  // progress are answered first. Idempotent.
  void Stop();

 private:
  HttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// The built-in part of admission (see above), for tests: the refusal, or nullopt.
std::optional<HttpResponse> CheckBodyFraming(const HttpRequest& request);

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_HTTP_SERVER_H_
