#include "service/http/http_server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <chrono>
#include <exception>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "httplib.h"
#include "service/security/pem.h"
#include "service/security/tls_material.h"

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

// The names of the client certificate the TLS layer verified for `request`'s connection; none
// over plain HTTP or when the client presented no certificate.
std::vector<std::string> VerifiedClientIdentities(const httplib::Request& request) {
  if (request.ssl == nullptr) return {};
  const X509* peer = SSL_get0_peer_certificate(request.ssl);
  if (peer == nullptr || SSL_get_verify_result(request.ssl) != X509_V_OK) return {};
  return security::CertificateIdentities(peer);
}

// The method, path, headers and client identities of `request`; the body is left out (see
// HttpRequest::body).
HttpRequest Head(const httplib::Request& request) {
  HttpRequest head{.method = request.method,
                   .path = request.path,
                   .client_identities = VerifiedClientIdentities(request)};
  for (const auto& [key, value] : request.headers) head.headers.emplace_back(key, value);
  return head;
}

using security::ParsePemCertificates;
using security::ParsePemPrivateKey;
using security::UniqueX509;

// The first error on OpenSSL's queue, as text, and the queue emptied.
std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no reason given";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

// Sets up `context` to serve with `tls`. The PEM text LoadTlsMaterial() read and checked at start
// is used rather than the files, so the HTTP listener serves exactly what the gRPC port serves.
absl::Status ConfigureTls(const security::TlsMaterial& tls, SSL_CTX& context) {
  const auto refused = [&tls](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "HTTPS: OpenSSL refuses %s (--tls_cert=%s --tls_key=%s --tls_client_ca=%s): %s", what,
        tls.files.cert_file, tls.files.key_file, tls.files.client_ca_file, OpenSslError()));
  };
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); gRPC's port does not offer them either.
  if (SSL_CTX_set_min_proto_version(&context, TLS1_2_VERSION) != 1) {
    return refused("TLS 1.2 as the lowest version");
  }
  SSL_CTX_set_options(&context, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // Resuming a session whose client certificate was verified needs a session id context; without
  // one OpenSSL fails such handshakes.
  static constexpr unsigned char kSessionContext[] = "pynq-inferd-http";
  SSL_CTX_set_session_id_context(&context, kSessionContext, sizeof(kSessionContext) - 1);

  std::vector<UniqueX509> chain = ParsePemCertificates(tls.cert_chain_pem);
  if (chain.empty() || SSL_CTX_use_certificate(&context, chain.front().get()) != 1) {
    return refused("the certificate of --tls_cert");
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(&context, chain[i].get()) != 1) {
      return refused(absl::StrFormat("intermediate certificate %d of --tls_cert", i));
    }
  }
  security::UniquePkey key = ParsePemPrivateKey(tls.private_key_pem);
  if (key == nullptr || SSL_CTX_use_PrivateKey(&context, key.get()) != 1 ||
      SSL_CTX_check_private_key(&context) != 1) {
    return refused("the private key of --tls_key");
  }

  if (!tls.requires_client_certificate()) return absl::OkStatus();
  std::vector<UniqueX509> client_cas = ParsePemCertificates(tls.client_ca_pem);
  if (client_cas.empty()) return refused("the CA certificates of --tls_client_ca");
  X509_STORE* store = SSL_CTX_get_cert_store(&context);
  for (const UniqueX509& ca : client_cas) {
    // The CA names go into the certificate request, so a client with several certificates
    // picks one these CAs issued.
    if (X509_STORE_add_cert(store, ca.get()) != 1 ||
        SSL_CTX_add_client_CA(&context, ca.get()) != 1) {
      return refused("a CA certificate of --tls_client_ca");
    }
  }
  SSL_CTX_set_verify(&context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return absl::OkStatus();
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
  const bool reads_body =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (std::optional<std::string_view> transfer = request.Header("Transfer-Encoding");
      transfer.has_value() && !IsIdentity(*transfer)) {
    const bool chunked = absl::EqualsIgnoreCase(
        absl::string_view(transfer->data(), transfer->size()), "chunked");
    if (!chunked || !reads_body) {
      return JsonError(411, absl::StrFormat("Transfer-Encoding \"%s\" is not accepted on a %s; "
                                            "send the body with Content-Length",
                                            *transfer, request.method));
    }
    return std::nullopt;
  }
  // Without a length or chunks, a body would end only when the connection does.
  if (reads_body && !request.Header("Content-Length").has_value()) {
    return JsonError(411, absl::StrCat("a ", request.method, " needs a Content-Length header"));
  }
  return std::nullopt;
}

std::optional<HttpResponse> CheckContentEncoding(const HttpRequest& request) {
  if (std::optional<std::string_view> encoding = request.Header("Content-Encoding");
      encoding.has_value() && !IsIdentity(*encoding)) {
    return JsonError(415, absl::StrFormat("Content-Encoding \"%s\" is not accepted; send the "
                                          "body uncompressed",
                                          *encoding));
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options,
                                                              Handler handler) {
  absl::StatusOr<HostPort> address = ParseListenAddress(options.listen_address);
  if (!address.ok()) return address.status();
  std::unique_ptr<HttpServer> server(new HttpServer());
  if (options.tls.has_value()) {
    absl::Status configured = absl::OkStatus();
    auto https = std::make_unique<httplib::SSLServer>([&](SSL_CTX& context) {
      configured = ConfigureTls(*options.tls, context);
      return configured.ok();
    });
    if (!configured.ok()) return configured;
    if (!https->is_valid()) {
      return absl::InternalError(absl::StrFormat(
          "HTTPS: cannot create an OpenSSL context for --tls_cert=%s: %s",
          options.tls->files.cert_file, OpenSslError()));
    }
    server->server_ = std::move(https);
  } else {
    server->server_ = std::make_unique<httplib::Server>();
  }
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

  // Requests whose body cannot be bounded are refused before it is read, and the connection
  // closes: its end could not be found.
  http.set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
    std::optional<HttpResponse> unframed = CheckBodyFraming(Head(request));
    if (!unframed.has_value()) return httplib::Server::HandlerResponse::Unhandled;
    unframed->headers.emplace_back("Connection", "close");
    Write(*unframed, response);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Everything else is answered after the body has been read (by `reader`, or by the library
  // into request.body for the methods without one), refusals included: a connection closed with
  // request bytes unread is reset, and the client can lose the answer with it.
  const size_t max_body_bytes = options.max_body_bytes;
  auto respond = [handler = std::move(handler), admit = options.admit, max_body_bytes](
                     const httplib::Request& request, httplib::Response& response,
                     const httplib::ContentReader* reader) {
    HttpRequest head = Head(request);
    std::optional<HttpResponse> refusal = CheckContentEncoding(head);
    if (!refusal.has_value() && admit) refusal = admit(head);
    std::string body;
    bool read = true;
    bool fits = true;
    if (reader != nullptr) {
      size_t length = 0;
      read = (*reader)([&](const char* data, size_t n) {
        length += n;
        if (length > max_body_bytes) {
          fits = false;
          return false;
        }
        if (!refusal.has_value()) body.append(data, n);
        return true;
      });
    }
    if (!read) {
      // Too large (a Content-Length beyond the bound, which the library refuses with 413 and
      // skips, or chunks beyond it), broken off, or compressed data that does not decompress.
      // A refusal still says why the request is refused; reading stopped mid-body, so the
      // connection cannot carry another request.
      const int status = !fits || response.status == 413 ? 413 : 400;
      HttpResponse failed =
          refusal.value_or(JsonError(status, LibraryErrorMessage(status, max_body_bytes)));
      failed.headers.emplace_back("Connection", "close");
      Write(failed, response);
      return;
    }
    if (refusal.has_value()) {
      Write(*refusal, response);
      return;
    }
    head.body = reader != nullptr ? std::string_view(body) : std::string_view(request.body);
    Write(handler(head), response);
  };
  auto serve = [respond](const httplib::Request& request, httplib::Response& response) {
    respond(request, response, nullptr);
  };
  auto serve_with_body = [respond](const httplib::Request& request, httplib::Response& response,
                                   const httplib::ContentReader& reader) {
    respond(request, response, &reader);
  };
  // Every path and method reaches the handler, which routes (404 and 405 included).
  http.Get(".*", serve);
  http.Post(".*", serve_with_body);
  http.Put(".*", serve_with_body);
  http.Delete(".*", serve);
  http.Patch(".*", serve_with_body);
  http.Options(".*", serve);
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
