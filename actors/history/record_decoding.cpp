#include "actors/history/record_decoding.hpp"

#include "actors/tracing/trace_context.hpp"

#include "kafka_proto.pb.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <optional>

namespace lpa::history {

namespace {

const std::string* header(const db::rejected_row& record, const char* name) {
  for (const auto& [key, value] : record.headers)
    if (key == name)
      return &value;
  return nullptr;
}

// Printable, so that an error message never carries raw bytes.
std::string shown(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 40))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return text.size() > 40 ? out + "..." : out;
}

uint64_t positive_number(const std::string* text, const std::string& what) {
  if (text == nullptr)
    throw decode_error(what + ": missing");
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size() || value == 0
      || value > static_cast<uint64_t>(INT64_MAX))
    throw decode_error(what + ": expected a number >= 1, got '" + shown(*text) + "'");
  return value;
}

std::string type_name(hablof::proto::v1::EventType type) {
  switch (type) {
  case hablof::proto::v1::Created:
    return "Created";
  case hablof::proto::v1::Updated:
    return "Updated";
  case hablof::proto::v1::Removed:
    return "Removed";
  default:
    throw decode_error("value: unknown event type " + std::to_string(static_cast<int>(type)));
  }
}

} // namespace

db::history_event_row decode_record(const db::rejected_row& record) {
  hablof::proto::v1::PackageEvent value;
  if (!value.ParseFromString(record.value))
    throw decode_error("value: not a hablof.proto.v1.PackageEvent");
  if (value.id() == 0 || value.packageid() == 0 || value.id() > static_cast<uint64_t>(INT64_MAX)
      || value.packageid() > static_cast<uint64_t>(INT64_MAX))
    throw decode_error("value: ID and PackageID must be set");
  db::history_event_row e;
  e.event_id = value.id();
  e.package_id = value.packageid();
  e.event_type = type_name(value.type());
  if (positive_number(&record.key, "key") != e.package_id)
    throw decode_error("key: '" + shown(record.key) + "' is not the PackageID "
                       + std::to_string(e.package_id));
  if (positive_number(header(record, header_event_id), "header event-id") != e.event_id)
    throw decode_error("header event-id: differs from the value's ID "
                       + std::to_string(e.event_id));
  e.package_seq = positive_number(header(record, header_package_seq), "header package-seq");
  const auto* type = header(record, header_event_type);
  if (type == nullptr || *type != e.event_type)
    throw decode_error("header event-type: expected '" + e.event_type + "', got "
                       + (type ? "'" + shown(*type) + "'" : std::string{"none"}));
  const auto& created = value.created();
  e.created_us = created.seconds() * 1000000 + created.nanos() / 1000;
  e.payload = value.payload();
  // PostgreSQL's jsonb takes any valid JSON except the \u0000 escape.
  if (!e.payload.empty()
      && (!nlohmann::json::accept(e.payload) || e.payload.find("\\u0000") != std::string::npos))
    throw decode_error("value: Payload is not JSON PostgreSQL accepts");
  if (const auto* traceparent = header(record, header_traceparent))
    if (tracing::parse_traceparent(*traceparent))
      e.traceparent = *traceparent;
  e.partition = record.partition;
  e.offset = record.offset;
  return e;
}

} // namespace lpa::history
