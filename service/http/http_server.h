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
// Admission. A request whose body cannot be bounded is refused before it is read, with a JSON
// error and the connection closed (411, CheckBodyFraming()): a POST, PUT or PATCH with neither
// Content-Length nor chunked transfer coding, any other transfer coding, a chunked body on
// another method. Every other request's body is read first, at most max_body_bytes of it (413
// beyond, counted after decompression), and then a compressed body is refused (415) and
// whatever Options::admit refuses (access control: RestApi::Admit(), a bearer token or the mTLS
// client identity): answering before the body is read would close a connection with request
// bytes unread, which resets it, and the client could lose the answer. Any other library-level
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
    // Called for every request after the built-in checks and after its body has been read
    // (which is not passed: the body is empty), with its method, path, headers and client
    // identities. A response refuses the request with it; nullopt admits it. Empty: every
    // request is admitted.
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

// The built-in parts of admission (see above), for tests: the refusal, or nullopt. Framing is
// checked before the body is read, the encoding after.
std::optional<HttpResponse> CheckBodyFraming(const HttpRequest& request);
std::optional<HttpResponse> CheckContentEncoding(const HttpRequest& request);

}  // namespace pynq::service::http

#endif  // PYNQ_SERVICE_HTTP_HTTP_SERVER_H_
