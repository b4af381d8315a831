// The REST gateway against the real server and a real PostgreSQL: each route end to end over
// HTTP, the grpc-gateway error mapping, forwarded headers and the OpenAPI document.
#include "tests/support/api_fixture.hpp"

#include <catch2/catch.hpp>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

using namespace lpa::test;
using google::protobuf::Struct;
using google::protobuf::Value;

namespace {

Struct parse_json(const std::string& text) {
  Struct out;
  INFO(text);
  REQUIRE(google::protobuf::util::JsonStringToMessage(text, &out).ok());
  return out;
}

const Value& at(const Struct& s, const std::string& key) {
  INFO(key);
  REQUIRE(s.fields().count(key) == 1);
  return s.fields().at(key);
}

http_reply rest(api_fixture& f, const std::string& method, const std::string& path,
                const std::string& body = "",
                const std::map<std::string, std::string>& headers = {}) {
  return http_request(f.server->rest_port(), method, path, body, headers);
}

// POSTs a package and returns its ID as the gateway printed it.
std::string create(api_fixture& f, const std::string& title,
                   const std::map<std::string, std::string>& headers = {}) {
  auto reply
      = rest(f, "POST", "/v1/packages",
             R"({"Title":")" + title + R"(","Material":"wood","MaximumVolume":2.5})", headers);
  INFO(reply.body);
  REQUIRE(reply.status == 200);
  return at(parse_json(reply.body), "ID").string_value();
}

// The error body's {code, message} and the first BadRequest field, when there is one.
void check_error(const http_reply& reply, int http_status, int code, const std::string& message) {
  INFO(reply.body);
  CHECK(reply.status == http_status);
  CHECK(reply.headers.at("content-type") == "application/json");
  auto body = parse_json(reply.body);
  CHECK(at(body, "code").number_value() == code);
  CHECK(at(body, "message").string_value() == message);
  CHECK(at(body, "details").has_list_value());
}

} // namespace

TEST_CASE("REST create answers the ID as a string and describe prints every field", "[rest]") {
  api_fixture f;
  auto created = rest(f, "POST", "/v1/packages",
                      R"({"Title":"box","Material":"wood","MaximumVolume":2.5,"Unknown":1})",
                      {{"X-Request-Id", "rest-create-1"}});
  INFO(created.body);
  REQUIRE(created.status == 200);
  CHECK(created.body == R"({"ID":"1"})");
  CHECK(created.headers.at("x-request-id") == "rest-create-1");
  CHECK(created.headers.at("content-type") == "application/json");

  auto described = rest(f, "GET", "/v1/packages/1");
  INFO(described.body);
  REQUIRE(described.status == 200);
  CHECK(!described.headers.at("x-request-id").empty()); // generated when the client sent none
  auto description = parse_json(described.body);
  const auto& value = at(description, "Value").struct_value();
  CHECK(at(value, "ID").string_value() == "1");
  CHECK(at(value, "Title").string_value() == "box");
  CHECK(at(value, "Material").string_value() == "wood");
  CHECK(at(value, "MaximumVolume").number_value() == 2.5);
  CHECK(at(value, "Reusable").bool_value() == false); // unpopulated, still printed
  CHECK_THAT(at(value, "Created").string_value(), Catch::EndsWith("Z"));
  CHECK(value.fields().count("Updated") == 0); // never updated
}

TEST_CASE("REST list pages by Limit and Cursor or Offset query parameters", "[rest]") {
  api_fixture f;
  for (auto title : {"a", "b", "c"})
    create(f, title);
  auto ids = [](const http_reply& reply) {
    INFO(reply.body);
    REQUIRE(reply.status == 200);
    auto body = parse_json(reply.body);
    std::vector<std::string> out;
    for (const auto& p : at(body, "Packages").list_value().values())
      out.push_back(at(p.struct_value(), "ID").string_value());
    CHECK(at(body, "PackageTitle").list_value().values_size() == 0);
    out.push_back("next " + at(body, "NextCursor").string_value());
    return out;
  };
  using list = std::vector<std::string>;
  CHECK(ids(rest(f, "GET", "/v1/packages?Limit=2")) == list{"1", "2", "next 2"});
  CHECK(ids(rest(f, "GET", "/v1/packages?Limit=2&Cursor=2")) == list{"3", "next 0"});
  CHECK(ids(rest(f, "GET", "/v1/packages?Offset=1&Limit=1")) == list{"2", "next 2"});
  CHECK(ids(rest(f, "GET", "/v1/packages")) == list{"1", "2", "3", "next 0"});
}

TEST_CASE("REST update binds query parameters and delete removes, then 404", "[rest]") {
  api_fixture f;
  auto id = create(f, "box");
  auto updated = rest(f, "PUT", "/v1/packages/" + id + "?Title=big%20box&Reusable.Reusable=true");
  INFO(updated.body);
  REQUIRE(updated.status == 200);
  CHECK(updated.body == R"({"Suc":true})");
  auto described = rest(f, "GET", "/v1/packages/" + id);
  REQUIRE(described.status == 200);
  auto description = parse_json(described.body);
  const auto& value = at(description, "Value").struct_value();
  CHECK(at(value, "Title").string_value() == "big box");
  CHECK(at(value, "Material").string_value() == "wood");
  CHECK(at(value, "Reusable").bool_value());
  CHECK_THAT(at(at(value, "Updated").struct_value(), "Time").string_value(), Catch::EndsWith("Z"));

  auto removed = rest(f, "DELETE", "/v1/packages/" + id);
  REQUIRE(removed.status == 200);
  CHECK(removed.body == R"({"Suc":true})");
  auto missing = rest(f, "GET", "/v1/packages/" + id);
  check_error(missing, 404, 5, "package " + id + " not found");
  CHECK(parse_json(missing.body).fields().at("details").list_value().values_size() == 0);
  check_error(rest(f, "DELETE", "/v1/packages/" + id), 404, 5, "package " + id + " not found");
  check_error(rest(f, "PUT", "/v1/packages/" + id + "?Title=x"), 404, 5,
              "package " + id + " not found");
}

TEST_CASE("REST invalid fields answer 400 with BadRequest details", "[rest]") {
  api_fixture f;
  auto invalid = rest(f, "POST", "/v1/packages", R"({"Title":"","Material":"wood"})");
  INFO(invalid.body);
  REQUIRE(invalid.status == 400);
  auto body = parse_json(invalid.body);
  CHECK(at(body, "code").number_value() == 3);
  const auto& details = at(body, "details").list_value();
  REQUIRE(details.values_size() == 1);
  const auto& bad_request = details.values(0).struct_value();
  CHECK(at(bad_request, "@type").string_value() == "type.googleapis.com/google.rpc.BadRequest");
  std::vector<std::string> fields;
  for (const auto& v : at(bad_request, "fieldViolations").list_value().values())
    fields.push_back(at(v.struct_value(), "field").string_value());
  CHECK(fields == std::vector<std::string>{"Title", "MaximumVolume"});
  CHECK(f.count("package") == 0);

  auto no_change = rest(f, "PUT", "/v1/packages/" + create(f, "box"));
  CHECK(no_change.status == 400);
  CHECK(parse_json(no_change.body).fields().at("code").number_value() == 3);
}

TEST_CASE("REST malformed requests and routing errors answer as grpc-gateway v2", "[rest]") {
  api_fixture f;
  auto bad_json = rest(f, "POST", "/v1/packages", R"({"Title":)");
  INFO(bad_json.body);
  CHECK(bad_json.status == 400);
  CHECK(parse_json(bad_json.body).fields().at("code").number_value() == 3);
  check_error(rest(f, "GET", "/v1/packages/abc"), 400, 3,
              "type mismatch, parameter: PackageID, error: cannot parse 'abc'");
  check_error(rest(f, "GET", "/v1/packages?Limit=-1"), 400, 3,
              "type mismatch, parameter: Limit, error: cannot parse '-1'");
  check_error(rest(f, "GET", "/v2/packages"), 404, 5, "Not Found");
  check_error(rest(f, "GET", "/v1/packages/1/2"), 404, 5, "Not Found");
  check_error(rest(f, "PATCH", "/v1/packages/1"), 501, 12, "Method Not Allowed");
  check_error(rest(f, "POST", "/swagger.json"), 501, 12, "Method Not Allowed");
  // An expired Grpc-Timeout is the gRPC deadline: DEADLINE_EXCEEDED, 504.
  auto late = rest(f, "GET", "/v1/packages", "", {{"Grpc-Timeout", "1n"}});
  CHECK(late.status == 504);
  CHECK(parse_json(late.body).fields().at("code").number_value() == 4);
  check_error(rest(f, "GET", "/v1/packages", "", {{"Grpc-Timeout", "soon"}}), 400, 3,
              "invalid grpc-timeout: soon");
}

TEST_CASE("REST forwards Idempotency-Key and traceparent to the service", "[rest]") {
  api_fixture f;
  std::map<std::string, std::string> headers{
      {"Idempotency-Key", "rest-key-1"},
      {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}};
  auto first = create(f, "box", headers);
  auto second = create(f, "box", headers);
  CHECK(first == second);
  CHECK(f.count("package") == 1);
  // The event carries the rpc span's context, a child in the client's trace.
  CHECK(f.count("package_event", "traceparent LIKE '00-0af7651916cd43dd8448eb211c80319c-%'") == 1);
  // The same key with other fields: FAILED_PRECONDITION, which grpc-gateway answers with 400.
  auto reused = rest(f, "POST", "/v1/packages",
                     R"({"Title":"other","Material":"wood","MaximumVolume":1})", headers);
  INFO(reused.body);
  CHECK(reused.status == 400);
  CHECK(parse_json(reused.body).fields().at("code").number_value() == 9);
  // grpc-gateway's generic form: Grpc-Metadata-<key> is metadata <key>.
  auto described = rest(f, "GET", "/v1/packages/" + first, "",
                        {{"Grpc-Metadata-X-Request-Id", "via-grpc-metadata"}});
  CHECK(described.headers.at("x-request-id") == "via-grpc-metadata");
}

TEST_CASE("REST answers a shed write with 429 and Retry-After", "[rest]") {
  api_fixture f{[](lpa::settings& cfg) {
    cfg.db.writers = 1;
    cfg.repo.write_queue = 1;
    cfg.repo.retry_after = 1500ms;
  }};
  // Every write waits for this lock: the first one admitted fills the queue, the others are shed.
  pqxx::connection conn{f.pg.dsn()};
  pqxx::work lock{conn};
  lock.exec0("LOCK TABLE package IN ACCESS EXCLUSIVE MODE");

  std::mutex mutex;
  std::condition_variable answered;
  std::vector<http_reply> replies;
  std::vector<std::thread> clients;
  for (int i = 0; i < 3; ++i)
    clients.emplace_back([&, i] {
      auto reply
          = rest(f, "POST", "/v1/packages",
                 R"({"Title":"t)" + std::to_string(i) + R"(","Material":"m","MaximumVolume":1})");
      std::lock_guard<std::mutex> guard{mutex};
      replies.push_back(reply);
      answered.notify_all();
    });
  {
    std::unique_lock<std::mutex> guard{mutex};
    REQUIRE(answered.wait_for(guard, 10s, [&] { return replies.size() >= 2; }));
    for (const auto& reply : replies) {
      INFO(reply.body);
      CHECK(reply.status == 429);
      CHECK(reply.headers.count("retry-after") == 1);
      CHECK(reply.headers.at("retry-after") == "2"); // whole seconds, rounded up
      CHECK(parse_json(reply.body).fields().at("code").number_value() == 8);
    }
  }
  lock.abort();
  for (auto& client : clients)
    client.join();
  CHECK(replies.back().status == 200);
}

TEST_CASE("REST serves /swagger.json with every route, a page at / and counts requests", "[rest]") {
  api_fixture f;
  auto swagger = rest(f, "GET", "/swagger.json");
  REQUIRE(swagger.status == 200);
  auto doc = parse_json(swagger.body);
  CHECK(at(doc, "swagger").string_value() == "2.0");
  const auto& paths = at(doc, "paths").struct_value();
  auto verbs = [&](const std::string& path) {
    std::set<std::string> out;
    for (const auto& [verb, operation] : at(paths, path).struct_value().fields())
      out.insert(verb);
    return out;
  };
  CHECK(verbs("/v1/packages") == std::set<std::string>{"get", "post"});
  CHECK(verbs("/v1/packages/{PackageID}") == std::set<std::string>{"get", "put", "delete"});
  std::map<std::string, std::string> update_parameters; // name -> in
  for (const auto& p :
       at(at(at(paths, "/v1/packages/{PackageID}").struct_value(), "put").struct_value(),
          "parameters")
           .list_value()
           .values())
    update_parameters[at(p.struct_value(), "name").string_value()]
        = at(p.struct_value(), "in").string_value();
  CHECK(update_parameters
        == std::map<std::string, std::string>{{"PackageID", "path"},
                                              {"Title", "query"},
                                              {"Material", "query"},
                                              {"MaximumVolume", "query"},
                                              {"Reusable.Reusable", "query"}});
  const auto& definitions = at(doc, "definitions").struct_value();
  for (auto name : {"v1CreatePackageV1Request", "v1Package", "v1ListPackagesV1Response",
                    "rpcStatus", "protobufAny"})
    CHECK(definitions.fields().count(name) == 1);
  const auto& package = at(at(definitions, "v1Package").struct_value(), "properties");
  CHECK(at(at(package.struct_value(), "ID").struct_value(), "format").string_value() == "uint64");

  auto page = rest(f, "GET", "/");
  CHECK(page.status == 200);
  CHECK_THAT(page.headers.at("content-type"), Catch::StartsWith("text/html"));
  CHECK_THAT(page.body, Catch::Contains("/v1/packages/{PackageID}")
                            && Catch::Contains("href=\"/swagger.json\""));
  CHECK(rest(f, "GET", "/nowhere").status == 404);
  int status = 0;
  auto metrics = http_get(f.server->metrics_port(), "/metrics", status);
  CHECK(metric_value(metrics, "http_microservice_requests_total") == 3);
}

TEST_CASE("REST a taken port fails the start instead of hanging it", "[rest]") {
  api_fixture first;
  auto taken = first.server->rest_port();
  CHECK_THROWS_WITH(
      api_fixture{[&](lpa::settings& cfg) { cfg.rest.port = taken; }},
      Catch::Contains("cannot listen for REST on 127.0.0.1:" + std::to_string(taken)));
}
