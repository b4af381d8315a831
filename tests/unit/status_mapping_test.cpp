#include "grpc_gateway/status_mapping.hpp"

#include "actors/repo/protocol.hpp"
#include "google/rpc/error_details.pb.h"

#include <catch2/catch.hpp>

using namespace lpa;

TEST_CASE("repository errors map to the status a client can act on", "[status]") {
  auto map = [](caf::error err) {
    return to_status(err, "package 7 not found", "req-1", std::chrono::milliseconds{1500});
  };
  auto not_found = map(caf::make_error(repo_errc::not_found));
  CHECK(not_found.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(not_found.error_message() == "package 7 not found");
  CHECK(map(caf::make_error(repo_errc::unavailable)).error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(map(caf::make_error(caf::sec::request_receiver_down)).error_code()
        == grpc::StatusCode::UNAVAILABLE);
  CHECK(map(caf::make_error(caf::sec::request_timeout)).error_code()
        == grpc::StatusCode::DEADLINE_EXCEEDED);
  auto internal = map(caf::make_error(repo_errc::internal));
  CHECK(internal.error_code() == grpc::StatusCode::INTERNAL);
  CHECK(map(caf::make_error(caf::sec::runtime_error)).error_code() == grpc::StatusCode::INTERNAL);
  CHECK(map(caf::make_error(repo_errc::key_reused)).error_code()
        == grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("an overloaded repository answers RESOURCE_EXHAUSTED with a RetryInfo", "[status]") {
  auto status = to_status(caf::make_error(repo_errc::overloaded), "unused", "req-9",
                          std::chrono::milliseconds{1500});
  CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(status.error_message(), Catch::Contains("retry after 1500 ms"));
  google::rpc::Status details;
  REQUIRE(details.ParseFromString(status.error_details()));
  google::rpc::RetryInfo info;
  REQUIRE(details.details_size() == 1);
  REQUIRE(details.details(0).UnpackTo(&info));
  CHECK(info.retry_delay().seconds() == 1);
  CHECK(info.retry_delay().nanos() == 500000000);
}

TEST_CASE("error messages carry the request id and no driver text", "[status]") {
  for (auto err : {caf::make_error(repo_errc::internal), caf::make_error(repo_errc::unavailable),
                   caf::make_error(caf::sec::request_timeout),
                   caf::make_error(caf::sec::runtime_error, "ERROR: relation \"x\"")}) {
    auto status = to_status(err, "unused", "req-42", std::chrono::milliseconds{1000});
    CHECK_THAT(status.error_message(), Catch::Contains("request id req-42"));
    CHECK_THAT(status.error_message(), !Catch::Contains("relation"));
  }
}

TEST_CASE("INVALID_ARGUMENT lists every field in the message and in BadRequest details",
          "[status]") {
  violations bad{{"Title", "must be 1 to 32 characters, got 0"},
                 {"MaximumVolume", "must be a finite number greater than 0, got nan"}};
  auto status = invalid_argument(bad);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message() == summarize(bad));
  google::rpc::Status details;
  REQUIRE(details.ParseFromString(status.error_details()));
  CHECK(details.code() == grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::BadRequest request;
  REQUIRE(details.details(0).UnpackTo(&request));
  REQUIRE(request.field_violations_size() == 2);
  CHECK(request.field_violations(0).field() == "Title");
  CHECK(request.field_violations(1).field() == "MaximumVolume");
  CHECK(request.field_violations(1).description()
        == "must be a finite number greater than 0, got nan");
}
