#include "service/http/http_server.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "service/security/tls_material.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace pynq::service::http {
namespace {

using ::testing::HasSubstr;

// Echoes the method, path and body length.
HttpResponse Echo(const HttpRequest& request) {
  return {.content_type = "text/plain",
          .body = request.method + " " + request.path + " " + std::to_string(request.body.size())};
}

std::string ErrorOf(const httplib::Result& result) {
  return nlohmann::json::parse(result->body)["error"].get<std::string>();
}

TEST(HttpServerTest, ServesEveryPathThroughTheHandler) {
  auto server = HttpServer::Start({.listen_address = "127.0.0.1:0", .threads = 2}, Echo);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result get = client.Get("/v2/anything");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "GET /v2/anything 0");
  httplib::Result post = client.Post("/x", std::string(100, 'a'), "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->body, "POST /x 100");
  httplib::Result del = client.Delete("/y");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->body, "DELETE /y 0");
  (*server)->Stop();
  (*server)->Stop();
  EXPECT_FALSE(client.Get("/v2"));
}

TEST(HttpServerTest, OversizedAndUnboundedBodiesAreRefused) {
  auto server = HttpServer::Start(
      {.listen_address = "127.0.0.1:0", .threads = 2, .max_body_bytes = 1000}, Echo);
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result big = client.Post("/x", std::string(1001, 'a'), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_THAT(ErrorOf(big), HasSubstr("larger than the 1000 bytes allowed"));
  httplib::Result fits = client.Post("/x", std::string(1000, 'a'), "application/json");
  ASSERT_TRUE(fits);
  EXPECT_EQ(fits->status, 200);

  httplib::Headers gzip = {{"Content-Encoding", "gzip"}};
  httplib::Result compressed = client.Post("/x", gzip, std::string(10, 'a'), "application/json");
  ASSERT_TRUE(compressed);
  EXPECT_EQ(compressed->status, 415);
  EXPECT_THAT(ErrorOf(compressed), HasSubstr("uncompressed"));

  // A chunked body is read like any other, within the same bound.
  httplib::Result chunked = client.Post(
      "/x",
      [](size_t offset, httplib::DataSink& sink) {
        sink.write("abc", 3);
        sink.done();
        return true;
      },
      "application/json");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 200);
  EXPECT_EQ(chunked->body, "POST /x 3");
  // The daemon goes on serving.
  httplib::Result after = client.Get("/ok");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST(HttpServerTest, AdmissionRefusesBeforeTheHandler) {
  int handled = 0;
  auto server = HttpServer::Start(
      {.listen_address = "127.0.0.1:0",
       .threads = 1,
       .admit = [](const HttpRequest& request) -> std::optional<HttpResponse> {
         if (request.Header("Authorization") == "Bearer good") return std::nullopt;
         return JsonError(absl::UnauthenticatedError("no valid token"));
       }},
      [&handled](const HttpRequest& request) {
        ++handled;
        return Echo(request);
      });
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result refused = client.Get("/v2");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(ErrorOf(refused), "no valid token");
  EXPECT_EQ(handled, 0);
  httplib::Result admitted = client.Get("/v2", {{"Authorization", "Bearer good"}});
  ASSERT_TRUE(admitted);
  EXPECT_EQ(admitted->status, 200);
  EXPECT_EQ(handled, 1);
  // A refused request's body is read before the answer, so the answer always arrives (a
  // connection closed with the body unread is reset) and the connection carries the next one.
  for (int i = 0; i < 20; ++i) {
    httplib::Result body_refused = client.Post(
        "/v2/models/m/infer",
        [](size_t offset, httplib::DataSink& sink) {
          const std::string part(64 << 10, 'x');
          for (int k = 0; k < 8; ++k) sink.write(part.data(), part.size());
          sink.done();
          return true;
        },
        "application/json");
    ASSERT_TRUE(body_refused) << i << ": " << httplib::to_string(body_refused.error());
    EXPECT_EQ(body_refused->status, 401);
  }
  EXPECT_EQ(handled, 1);
}

TEST(HttpServerTest, FramingIsCheckedBeforeTheBodyAndTheEncodingAfter) {
  const auto request = [](std::string method, std::vector<std::pair<std::string, std::string>> h) {
    return HttpRequest{.method = std::move(method), .path = "/x", .headers = std::move(h)};
  };
  EXPECT_FALSE(CheckBodyFraming(request("POST", {{"Content-Length", "3"}})).has_value());
  EXPECT_FALSE(CheckBodyFraming(request("POST", {{"Transfer-Encoding", "chunked"}})).has_value());
  EXPECT_FALSE(CheckBodyFraming(request("GET", {})).has_value());
  EXPECT_EQ(CheckBodyFraming(request("POST", {}))->status, 411);
  EXPECT_EQ(CheckBodyFraming(request("PUT", {{"Transfer-Encoding", "gzip, chunked"}}))->status,
            411);
  EXPECT_EQ(CheckBodyFraming(request("GET", {{"Transfer-Encoding", "chunked"}}))->status, 411);
  EXPECT_FALSE(CheckContentEncoding(request("POST", {{"Content-Encoding", "identity"}})));
  EXPECT_EQ(CheckContentEncoding(request("POST", {{"Content-Encoding", "gzip"}}))->status, 415);
}

TEST(HttpServerTest, BadAddressesFail) {
  EXPECT_EQ(HttpServer::Start({.listen_address = "nonsense"}, Echo).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::Start({.listen_address = "127.0.0.1:99999"}, Echo).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = HttpServer::Start({.listen_address = "127.0.0.1:0"}, Echo);
  ASSERT_TRUE(first.ok());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  EXPECT_EQ(HttpServer::Start({.listen_address = taken}, Echo).status().code(),
            absl::StatusCode::kUnavailable);
  auto ipv6 = HttpServer::Start({.listen_address = "[::1]:0"}, Echo);
  if (ipv6.ok()) {
    EXPECT_GT((*ipv6)->port(), 0);
  }
}

// HTTPS with the certificates of tests/make_test_pki.sh (Debian's openssl), talked to by the
// library's own client.
class HttpsServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<testing::TestTempDir> pki = testing::MakeTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    dir_ = new testing::TestTempDir(*std::move(pki));
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string Path(const std::string& name) { return dir_->path() + "/" + name; }

  static security::TlsMaterial Tls(const std::string& client_ca = "") {
    absl::StatusOr<security::TlsMaterial> tls =
        security::LoadTlsMaterial({.cert_file = Path("server.crt"),
                                   .key_file = Path("server.key"),
                                   .client_ca_file = client_ca.empty() ? "" : Path(client_ca)});
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? *std::move(tls) : security::TlsMaterial{};
  }

  // Answers with the client certificate's names, comma-separated ("-" for none).
  static HttpResponse Identities(const HttpRequest& request) {
    return {.content_type = "text/plain",
            .body = request.client_identities.empty() ? "-"
                                                      : absl::StrJoin(request.client_identities,
                                                                      ",")};
  }

  // A client that trusts the test CA, with the client certificate `who` unless it is empty.
  static std::unique_ptr<httplib::SSLClient> Client(int port, const std::string& who = "") {
    auto client = who.empty() ? std::make_unique<httplib::SSLClient>("127.0.0.1", port)
                              : std::make_unique<httplib::SSLClient>(
                                    "127.0.0.1", port, Path(who + ".crt"), Path(who + ".key"));
    client->set_ca_cert_path(Path("ca.crt").c_str());
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(5);
    return client;
  }

  static testing::TestTempDir* dir_;
};
testing::TestTempDir* HttpsServerTest::dir_ = nullptr;

TEST_F(HttpsServerTest, ServesHttpsOnlyAndAdmitsBeforeTheHandler) {
  auto server = HttpServer::Start(
      {.listen_address = "127.0.0.1:0",
       .threads = 2,
       .tls = Tls(),
       .admit = [](const HttpRequest& request) -> std::optional<HttpResponse> {
         if (request.Header("Authorization") == "Bearer good") return std::nullopt;
         return JsonError(absl::UnauthenticatedError("no valid token"));
       }},
      Identities);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  auto client = Client(port);
  httplib::Result admitted = client->Get("/v2", {{"Authorization", "Bearer good"}});
  ASSERT_TRUE(admitted) << httplib::to_string(admitted.error());
  EXPECT_EQ(admitted->status, 200);
  // Without client certificates there are no names.
  EXPECT_EQ(admitted->body, "-");
  httplib::Result refused = client->Get("/v2");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_EQ(ErrorOf(refused), "no valid token");

  // Plain HTTP to the TLS port gets no answer.
  httplib::Client plain("127.0.0.1", port);
  plain.set_read_timeout(5);
  EXPECT_FALSE(plain.Get("/v2", {{"Authorization", "Bearer good"}}));
  // A client that does not trust the test CA refuses the server.
  httplib::SSLClient untrusting("127.0.0.1", port);
  untrusting.enable_server_certificate_verification(true);
  untrusting.set_ca_cert_path(Path("rogue-ca.crt").c_str());
  EXPECT_FALSE(untrusting.Get("/v2"));
  // The server goes on serving.
  EXPECT_EQ(Client(port)->Get("/v2", {{"Authorization", "Bearer good"}})->status, 200);
}

TEST_F(HttpsServerTest, MtlsNeedsATrustedClientCertificateAndPassesItsNames) {
  auto server = HttpServer::Start(
      {.listen_address = "127.0.0.1:0", .threads = 2, .tls = Tls("ca.crt")}, Identities);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_FALSE(Client(port)->Get("/v2"));
  EXPECT_FALSE(Client(port, "rogue")->Get("/v2"));
  httplib::Result reader = Client(port, "reader")->Get("/v2");
  ASSERT_TRUE(reader) << httplib::to_string(reader.error());
  EXPECT_EQ(reader->body, "reader");
  httplib::Result admin = Client(port, "admin")->Get("/v2");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->body, "ops-admin,ops@pynq.test");
}

TEST_F(HttpsServerTest, MaterialOpenSslRefusesStopsTheStart) {
  security::TlsMaterial garbled = Tls();
  garbled.cert_chain_pem = "not a certificate";
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start({.listen_address = "127.0.0.1:0", .tls = garbled}, Identities);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("the certificate of --tls_cert"));
  EXPECT_THAT(server.status().message(), HasSubstr(Path("server.crt")));

  // The key of another certificate.
  security::TlsMaterial mismatched = Tls();
  std::ifstream other_key(Path("admin.key"));
  mismatched.private_key_pem.assign(std::istreambuf_iterator<char>(other_key), {});
  ASSERT_FALSE(mismatched.private_key_pem.empty());
  server = HttpServer::Start({.listen_address = "127.0.0.1:0", .tls = mismatched}, Identities);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("the private key of --tls_key"));
}

}  // namespace
}  // namespace pynq::service::http
