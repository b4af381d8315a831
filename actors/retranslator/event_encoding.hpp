#pragma once

#include "actors/retranslator/protocol.hpp"

namespace lpa {

// Kafka header names carried by every event.
inline constexpr const char* header_event_id = "event-id";
inline constexpr const char* header_event_type = "event-type";
inline constexpr const char* header_package_seq = "package-seq";
inline constexpr const char* header_traceparent = "traceparent";

// The wire form consumers of the replaced service decode unchanged: value =
// hablof.proto.v1.PackageEvent, key = package id in decimal; plus headers event-id, event-type,
// package-seq and, when the event was traced, traceparent.
// The record carries the event's slot and round for the sender.
kafka_record encode(const batch_event& e);

} // namespace lpa
