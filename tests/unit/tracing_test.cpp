#include "actors/tracing/otlp_exporter.hpp"
#include "actors/tracing/otlp_json.hpp"
#include "actors/tracing/span.hpp"
#include "actors/tracing/trace_context.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

using namespace lpa::tracing;
using nlohmann::json;

namespace {

const std::string sample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

span_data sample_span() {
  span_data s;
  s.context = *parse_traceparent(sample);
  s.parent = span_id{1, 2, 3, 4, 5, 6, 7, 8};
  s.name = "hablof.logistic_package_api.v1.LogisticPackageApiService/CreatePackageV1";
  s.kind = span_kind::server;
  s.start = std::chrono::system_clock::time_point{std::chrono::nanoseconds{1700000000123456789}};
  s.end = s.start + std::chrono::milliseconds{2};
  s.attributes = {{"rpc.method", std::string{"CreatePackageV1"}},
                  {"rpc.grpc.status_code", int64_t{0}},
                  {"package.id", int64_t{9007199254740993}},
                  {"retried", false}};
  s.status = status_code::error;
  s.status_message = "boom";
  s.links = {*parse_traceparent("00-0102030405060708090a0b0c0d0e0f10-1112131415161718-01")};
  return s;
}

} // namespace

TEST_CASE("traceparent parses the W3C example and formats it back") {
  auto ctx = parse_traceparent(sample);
  REQUIRE(ctx);
  CHECK(to_hex(ctx->trace) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(to_hex(ctx->span) == "00f067aa0ba902b7");
  CHECK(ctx->sampled());
  CHECK(format_traceparent(*ctx) == sample);

  auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  REQUIRE(unsampled);
  CHECK_FALSE(unsampled->sampled());
}

TEST_CASE("traceparent rejects malformed headers") {
  const char* bad[] = {
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",     // no flags
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  // uppercase
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // forbidden version
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", // version 00 is exact
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // separator
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // not hex
  };
  for (const char* header : bad) {
    INFO(header);
    CHECK_FALSE(parse_traceparent(header));
  }
  // A later version is read by its version-00 prefix.
  CHECK(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST_CASE("a tracer starts root spans with fresh ids and children in the parent's trace") {
  tracer t;
  auto root = t.start_span("root", span_kind::server);
  auto other = t.start_span("other", span_kind::server);
  CHECK(root.context().trace != other.context().trace);
  CHECK(root.context().sampled());
  CHECK(parse_traceparent(root.traceparent()));

  auto parent = *parse_traceparent(sample);
  auto child = t.start_span("child", span_kind::server, parent);
  CHECK(child.context().trace == parent.trace);
  CHECK(child.context().span != parent.span);
  CHECK(child.trace_id_hex() == "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_CASE("OTLP JSON uses hex ids, lowerCamelCase keys, string 64-bit ints and integer enums") {
  const auto body = json::parse(encode_export_request({sample_span()}, "lpa-test"));

  const auto& resource_spans = body.at("resourceSpans").at(0);
  const auto& resource_attr = resource_spans.at("resource").at("attributes").at(0);
  CHECK(resource_attr.at("key") == "service.name");
  CHECK(resource_attr.at("value").at("stringValue") == "lpa-test");

  const auto& span = resource_spans.at("scopeSpans").at(0).at("spans").at(0);
  CHECK(span.at("traceId") == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(span.at("spanId") == "00f067aa0ba902b7");
  CHECK(span.at("parentSpanId") == "0102030405060708");
  CHECK(span.at("name")
        == "hablof.logistic_package_api.v1.LogisticPackageApiService/CreatePackageV1");
  CHECK(span.at("kind") == 2);
  CHECK(span.at("startTimeUnixNano") == "1700000000123456789");
  CHECK(span.at("endTimeUnixNano") == "1700000000125456789");
  CHECK(span.at("status").at("code") == 2);
  CHECK(span.at("status").at("message") == "boom");

  const auto& attrs = span.at("attributes");
  REQUIRE(attrs.size() == 4);
  CHECK(attrs.at(0)
        == json::parse(R"({"key":"rpc.method","value":{"stringValue":"CreatePackageV1"}})"));
  CHECK(attrs.at(1) == json::parse(R"({"key":"rpc.grpc.status_code","value":{"intValue":"0"}})"));
  CHECK(attrs.at(2).at("value").at("intValue") == "9007199254740993");
  CHECK(attrs.at(3).at("value").at("boolValue") == false);

  const auto& link = span.at("links").at(0);
  CHECK(link.at("traceId") == "0102030405060708090a0b0c0d0e0f10");
  CHECK(link.at("spanId") == "1112131415161718");
}

TEST_CASE("OTLP JSON leaves out the parent of a root span and empty links") {
  auto s = sample_span();
  s.parent.reset();
  s.links.clear();
  s.status = status_code::unset;
  s.status_message.clear();
  const auto span = json::parse(encode_export_request({s}, "lpa-test"))
                        .at("resourceSpans")
                        .at(0)
                        .at("scopeSpans")
                        .at(0)
                        .at("spans")
                        .at(0);
  CHECK_FALSE(span.contains("parentSpanId"));
  CHECK_FALSE(span.contains("links"));
  CHECK(span.at("status") == json::parse(R"({"code":0})"));
}

TEST_CASE("an OTLP endpoint maps to its origin, port 4318 by default, and <path>/v1/traces") {
  auto plain = traces_target("http://jaeger");
  CHECK(plain.origin == "http://jaeger:4318");
  CHECK(plain.path == "/v1/traces");
  auto full = traces_target("https://collector.example:443/otel/");
  CHECK(full.origin == "https://collector.example:443");
  CHECK(full.path == "/otel/v1/traces");
  CHECK(traces_target("http://[::1]").origin == "http://[::1]:4318");
  CHECK(traces_target("http://[::1]:4319").origin == "http://[::1]:4319");
  CHECK_THROWS_AS(traces_target("jaeger:4318"), std::invalid_argument);
  CHECK_THROWS_AS(traces_target("ftp://jaeger"), std::invalid_argument);
}
