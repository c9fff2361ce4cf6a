#include "service/http/http_server.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

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

  // A chunked body, whose length is unknown before it is read.
  httplib::Result chunked = client.Post(
      "/x",
      [](size_t offset, httplib::DataSink& sink) {
        sink.write("abc", 3);
        sink.done();
        return true;
      },
      "application/json");
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 411);
  EXPECT_THAT(ErrorOf(chunked), HasSubstr("Content-Length"));
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
  if (ipv6.ok()) EXPECT_GT((*ipv6)->port(), 0);
}

}  // namespace
}  // namespace pynq::service::http
