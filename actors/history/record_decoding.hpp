#pragma once

#include "db/history_store.hpp"

#include <stdexcept>

namespace lpa::history {

// Kafka header names the retranslator writes (actors/retranslator/event_encoding.hpp).
inline constexpr const char* header_event_id = "event-id";
inline constexpr const char* header_event_type = "event-type";
inline constexpr const char* header_package_seq = "package-seq";
inline constexpr const char* header_traceparent = "traceparent";

// Why a record cannot be applied, e.g. "header package-seq: expected a number >= 1, got 'x'".
struct decode_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The event a record of omp-package-events carries: value = hablof.proto.v1.PackageEvent, key =
// the package id in decimal, headers event-id, event-type, package-seq (and traceparent). Checks
// everything the history database would refuse later (ids, the type, the payload being JSON), so
// a record either decodes into an event the database takes or is rejected here. `record` is the
// record as history_rejected would keep it (its error is not read). A malformed traceparent is
// dropped, not an error.
db::history_event_row decode_record(const db::rejected_row& record);

} // namespace lpa::history
