#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace lpa::rest {

// What the REST gateway translates between HTTP/JSON and gRPC, as grpc-gateway v2 does.

// grpc-gateway's runtime.HTTPStatusFromCode: OK 200, INVALID_ARGUMENT/FAILED_PRECONDITION/
// OUT_OF_RANGE 400, NOT_FOUND 404, RESOURCE_EXHAUSTED 429, UNIMPLEMENTED 501, UNAVAILABLE 503,
// DEADLINE_EXCEEDED 504, ... and 500 for the rest.
int http_status_of(grpc::StatusCode code);

// The message as protojson with grpc-gateway's default marshaler: JSON names (the PascalCase
// field names here), unpopulated scalars and lists emitted, 64-bit integers as strings.
std::string to_json(const google::protobuf::Message& message);

// Parses a JSON body into `message`, ignoring unknown fields (grpc-gateway's DiscardUnknown).
// An empty body leaves the message empty. Bad JSON gives INVALID_ARGUMENT.
grpc::Status from_json(const std::string& body, google::protobuf::Message& message);

// The error body of grpc-gateway v2: google.rpc.Status as JSON, {"code", "message", "details"},
// the details taken from the binary error details (grpc-status-details-bin) when present.
std::string error_body(const grpc::Status& status);

// Sets the field at a dotted path of proto or JSON names (e.g. "Reusable.Reusable") from its
// text form, as grpc-gateway binds path and query parameters. An unknown path is ignored; a
// value that does not parse gives INVALID_ARGUMENT naming the parameter.
grpc::Status bind_parameter(google::protobuf::Message& message, const std::string& path,
                            const std::string& value);

// Binds every parameter of a URL query string ("a=1&b.c=x", percent-encoded) except `skip`.
grpc::Status bind_query(google::protobuf::Message& message, const std::string& query,
                        const std::vector<std::string>& skip = {});

// A gRPC timeout header value ("100m", "5S", "1H": digits and a unit H M S m u n); nullopt
// when it does not parse.
std::optional<std::chrono::nanoseconds> parse_grpc_timeout(const std::string& value);

} // namespace lpa::rest
