#include "service/http/proto_json.h"

#include "gtest/gtest.h"
#include "inference/grpc_service.pb.h"

namespace pynq::service::http {
namespace {

using Json = nlohmann::json;

TEST(ProtoJsonTest, Int64AsNumbersEnumsByNameMapsAsObjects) {
  inference::ModelConfig config;
  config.set_name("m");
  config.set_max_batch_size(8);
  auto* input = config.add_input();
  input->set_data_type(inference::TYPE_UINT8);
  input->add_dims(1);
  input->add_dims(28);
  (*config.mutable_parameters())["labels"].set_string_value("a,b");
  const Json json = ProtoToJson(config);
  EXPECT_EQ(json["name"], "m");
  EXPECT_EQ(json["max_batch_size"], 8);
  EXPECT_EQ(json["input"][0]["dims"], Json::array({1, 28}));
  EXPECT_EQ(json["input"][0]["data_type"], "TYPE_UINT8");
  EXPECT_EQ(json["input"][0]["format"], "FORMAT_NONE");
  EXPECT_EQ(json["parameters"]["labels"]["string_value"], "a,b");
  // Scalars and lists always, unset messages (and oneof members) never.
  EXPECT_EQ(json["platform"], "");
  EXPECT_EQ(json["output"], Json::array());
  EXPECT_FALSE(json.contains("dynamic_batching"));
  config.mutable_dynamic_batching();
  EXPECT_EQ(ProtoToJson(config)["dynamic_batching"]["max_queue_delay_microseconds"], 0);
}

TEST(ProtoJsonTest, LargeUnsignedValuesStayExact) {
  inference::StatisticDuration d;
  d.set_count(18'000'000'000'000'000'000u);
  d.set_ns(1);
  const Json json = ProtoToJson(d);
  EXPECT_EQ(json["count"].get<uint64_t>(), 18'000'000'000'000'000'000u);
  EXPECT_EQ(json.dump(), R"({"count":18000000000000000000,"ns":1})");
}

}  // namespace
}  // namespace pynq::service::http
