// The REST gateway's translation between HTTP/JSON and gRPC, without a server.
#include "grpc_gateway/rest_mapping.hpp"
#include "grpc_gateway/rest_routes.hpp"

#include "google/rpc/error_details.pb.h"
#include "logistic_package_api.pb.h"

#include <catch2/catch.hpp>

using namespace lpa::rest;
namespace v1 = hablof::logistic_package_api::v1;

TEST_CASE("gRPC codes map to grpc-gateway's HTTP statuses", "[rest]") {
  CHECK(http_status_of(grpc::StatusCode::OK) == 200);
  CHECK(http_status_of(grpc::StatusCode::INVALID_ARGUMENT) == 400);
  CHECK(http_status_of(grpc::StatusCode::FAILED_PRECONDITION) == 400);
  CHECK(http_status_of(grpc::StatusCode::NOT_FOUND) == 404);
  CHECK(http_status_of(grpc::StatusCode::RESOURCE_EXHAUSTED) == 429);
  CHECK(http_status_of(grpc::StatusCode::UNAVAILABLE) == 503);
  CHECK(http_status_of(grpc::StatusCode::DEADLINE_EXCEEDED) == 504);
  CHECK(http_status_of(grpc::StatusCode::INTERNAL) == 500);
  CHECK(http_status_of(grpc::StatusCode::UNIMPLEMENTED) == 501);
  CHECK(http_status_of(grpc::StatusCode::CANCELLED) == 499);
  CHECK(http_status_of(grpc::StatusCode::ALREADY_EXISTS) == 409);
  CHECK(http_status_of(grpc::StatusCode::UNAUTHENTICATED) == 401);
  CHECK(http_status_of(grpc::StatusCode::PERMISSION_DENIED) == 403);
  CHECK(http_status_of(grpc::StatusCode::DATA_LOSS) == 500);
}

TEST_CASE("messages print as protojson with PascalCase names and uint64 strings", "[rest]") {
  v1::DescribePackageV1Response rep;
  rep.mutable_value()->set_id(18446744073709551615ULL);
  rep.mutable_value()->set_title("box");
  CHECK(to_json(rep)
        == R"({"Value":{"ID":"18446744073709551615","Title":"box","Material":"",)"
           R"("MaximumVolume":0,"Reusable":false}})");
  CHECK(to_json(v1::ListPackagesV1Response{})
        == R"({"PackageTitle":[],"Packages":[],"NextCursor":"0"})");
}

TEST_CASE("a JSON body parses, ignoring unknown fields, and bad JSON is INVALID_ARGUMENT",
          "[rest]") {
  v1::CreatePackageV1Request req;
  REQUIRE(
      from_json(R"({"Title":"box","MaximumVolume":2.5,"Unknown":1,"Reusable":true})", req).ok());
  CHECK(req.title() == "box");
  CHECK(req.maximumvolume() == 2.5f);
  CHECK(req.reusable());
  v1::CreatePackageV1Request empty;
  CHECK(from_json("  ", empty).ok());
  CHECK(from_json(R"({"Title":)", empty).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(from_json(R"({"MaximumVolume":"big"})", empty).error_code()
        == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("path and query parameters bind by proto name, nested by dotted path", "[rest]") {
  v1::UpdatePackageV1Request req;
  REQUIRE(bind_parameter(req, "PackageID", "7").ok());
  REQUIRE(bind_query(req,
                     "Title=big%20box&Material=a+b&MaximumVolume=1.5&Reusable.Reusable=true"
                     "&PackageID=9&Other=1",
                     {"PackageID"})
              .ok());
  CHECK(req.packageid() == 7);
  CHECK(req.title() == "big box");
  CHECK(req.material() == "a b");
  CHECK(req.maximumvolume() == 1.5f);
  REQUIRE(req.has_reusable());
  CHECK(req.reusable().reusable());

  auto bad = bind_parameter(req, "PackageID", "-1");
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad.error_message() == "type mismatch, parameter: PackageID, error: cannot parse '-1'");
  CHECK(bind_query(req, "Reusable.Reusable=maybe").error_code()
        == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bind_query(req, "MaximumVolume=").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bind_parameter(req, "PackageID", "18446744073709551616").error_code()
        == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("the error body is google.rpc.Status as grpc-gateway v2 prints it", "[rest]") {
  CHECK(error_body({grpc::StatusCode::NOT_FOUND, "package 7 not found"})
        == R"({"code":5,"message":"package 7 not found","details":[]})");
  google::rpc::BadRequest bad;
  auto* violation = bad.add_field_violations();
  violation->set_field("Title");
  violation->set_description("must not be empty");
  google::rpc::Status details;
  details.set_code(3);
  details.set_message("Title: must not be empty");
  details.add_details()->PackFrom(bad);
  grpc::Status status{grpc::StatusCode::INVALID_ARGUMENT, "Title: must not be empty",
                      details.SerializeAsString()};
  CHECK(error_body(status)
        == R"({"code":3,"message":"Title: must not be empty","details":[{"@type":)"
           R"("type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"Title",)"
           R"("description":"must not be empty"}]}]})");
}

TEST_CASE("grpc-timeout values parse as gRPC defines them", "[rest]") {
  using namespace std::chrono_literals;
  CHECK(parse_grpc_timeout("100m") == std::chrono::nanoseconds{100ms});
  CHECK(parse_grpc_timeout("5S") == std::chrono::nanoseconds{5s});
  CHECK(parse_grpc_timeout("1H") == std::chrono::nanoseconds{1h});
  CHECK(parse_grpc_timeout("20u") == std::chrono::nanoseconds{20us});
  CHECK_FALSE(parse_grpc_timeout("5"));
  CHECK_FALSE(parse_grpc_timeout("5s"));
  CHECK_FALSE(parse_grpc_timeout("-5S"));
  CHECK_FALSE(parse_grpc_timeout("123456789S"));
}

TEST_CASE("path templates match segment by segment and capture parameters", "[rest]") {
  CHECK(match_path("/v1/packages", "/v1/packages") == path_values{});
  CHECK(match_path("/v1/packages/{PackageID}", "/v1/packages/42")
        == path_values{{"PackageID", "42"}});
  CHECK_FALSE(match_path("/v1/packages/{PackageID}", "/v1/packages/"));
  CHECK_FALSE(match_path("/v1/packages/{PackageID}", "/v1/packages/4/2"));
  CHECK_FALSE(match_path("/v1/packages", "/v1/packagesX"));
  CHECK(path_parameters("/v1/packages/{PackageID}") == std::vector<std::string>{"PackageID"});
}
