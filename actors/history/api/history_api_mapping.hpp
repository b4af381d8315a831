#pragma once

// What the history API's gRPC service computes without an actor or a database: request
// validation, the paging cursor, and events as the API shows them.

#include "db/history_read_store.hpp"
#include "grpc_gateway/validation.hpp"

#include "package_history.pb.h"

#include <cstdint>
#include <string>

namespace lpa::history_api {

namespace hv1 = hablof::logistic_package_api::history::v1;

struct list_limits {
  int32_t default_limit = 100; // Limit 0
  int32_t max_limit = 1000;
};

// ListPackageEventsV1: PackageID > 0; 0 <= Limit <= max_limit; Cursor "" or a NextCursor this API
// gave for the same package. Fills `query` (one row more than the page, to know whether another
// page follows) when there is no violation.
violations validate(const hv1::ListPackageEventsV1Request& req, const list_limits& limits,
                    db::history_page_query& query);

// GetPackageAtV1: PackageID > 0; Time present and a valid timestamp (0001-01-01 to 9999-12-31).
violations validate(const hv1::GetPackageAtV1Request& req);

// The opaque cursor naming the position after `event` in its package's order: base64url of
// "<package id>:<seq>:<event id>", so a cursor cannot be used with another package.
std::string next_cursor(const db::history_entry& event);

// A timestamp as microseconds since the Unix epoch, rounded down (events are stored to the
// microsecond, so "at or before" keeps its meaning).
int64_t to_unix_us(const google::protobuf::Timestamp& ts);

// "2026-12-02T06:48:56.123456Z", for messages.
std::string format_unix_us(int64_t unix_us);

// The event as the API shows it: Value decoded from the JSON payload (left out when the payload
// does not decode), the trace id taken from the traceparent.
void to_proto(const db::history_entry& row, hv1::PackageEvent* out);

} // namespace lpa::history_api
