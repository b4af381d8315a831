#include "actors/history/api/history_api_mapping.hpp"

#include "actors/tracing/trace_context.hpp"

#include <google/protobuf/util/time_util.h>
#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <optional>
#include <string_view>

namespace lpa::history_api {

namespace {

using google::protobuf::util::TimeUtil;

constexpr std::string_view base64url_alphabet
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Without padding.
std::string base64url_encode(std::string_view bytes) {
  std::string out;
  uint32_t bits = 0;
  int pending = 0;
  for (unsigned char ch : bytes) {
    bits = (bits << 8) | ch;
    pending += 8;
    while (pending >= 6) {
      pending -= 6;
      out += base64url_alphabet[(bits >> pending) & 0x3f];
    }
  }
  if (pending > 0)
    out += base64url_alphabet[(bits << (6 - pending)) & 0x3f];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  uint32_t bits = 0;
  int pending = 0;
  for (char ch : text) {
    auto value = base64url_alphabet.find(ch);
    if (value == std::string_view::npos)
      return std::nullopt;
    bits = (bits << 6) | static_cast<uint32_t>(value);
    pending += 6;
    if (pending >= 8) {
      pending -= 8;
      out += static_cast<char>((bits >> pending) & 0xff);
    }
  }
  return out;
}

// A decimal number that is all of `text`.
std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

struct cursor_fields {
  uint64_t package_id = 0;
  uint64_t seq = 0;
  uint64_t event_id = 0;
};

std::optional<cursor_fields> parse_cursor(const std::string& cursor) {
  constexpr size_t max_cursor_length = 128; // three 20-digit numbers fit in 82 characters
  if (cursor.size() > max_cursor_length)
    return std::nullopt;
  auto text = base64url_decode(cursor);
  if (!text)
    return std::nullopt;
  std::array<uint64_t, 3> numbers{};
  std::string_view rest = *text;
  for (size_t i = 0; i < numbers.size(); ++i) {
    auto colon = i + 1 < numbers.size() ? rest.find(':') : rest.size();
    if (colon == std::string_view::npos)
      return std::nullopt;
    auto number = parse_u64(rest.substr(0, colon));
    if (!number || *number == 0)
      return std::nullopt;
    numbers[i] = *number;
    rest.remove_prefix(std::min(rest.size(), colon + 1));
  }
  return cursor_fields{numbers[0], numbers[1], numbers[2]};
}

void check_package_id(violations& out, uint64_t id) {
  if (id == 0)
    out.push_back({"PackageID", "must be greater than 0, got 0"});
}

std::optional<google::protobuf::Timestamp> parse_time(const nlohmann::json& value) {
  google::protobuf::Timestamp ts;
  if (!value.is_string() || !TimeUtil::FromString(value.get<std::string>(), &ts))
    return std::nullopt;
  return ts;
}

// The outbox payload: {"ID", "Title", "Material", "MaximumVolume", "Reusable", "Created",
// "Updated"}, times as PostgreSQL writes timestamptz in JSON. False when it does not decode.
bool decode_package(const std::string& payload, hablof::logistic_package_api::v1::Package* out) {
  auto json = nlohmann::json::parse(payload, nullptr, false);
  if (!json.is_object())
    return false;
  auto field = [&](const char* key) { return json.contains(key) ? json[key] : nlohmann::json{}; };
  auto id = field("ID"), title = field("Title"), material = field("Material"),
       volume = field("MaximumVolume"), reusable = field("Reusable"), updated = field("Updated");
  auto created = parse_time(field("Created"));
  if (!id.is_number_unsigned() || !title.is_string() || !material.is_string() || !volume.is_number()
      || !reusable.is_boolean() || !created)
    return false;
  out->set_id(id.get<uint64_t>());
  out->set_title(title.get<std::string>());
  out->set_material(material.get<std::string>());
  out->set_maximumvolume(volume.get<float>());
  out->set_reusable(reusable.get<bool>());
  *out->mutable_created() = *created;
  if (!updated.is_null()) {
    auto time = parse_time(updated);
    if (!time)
      return false;
    *out->mutable_updated()->mutable_time() = *time;
  }
  return true;
}

hablof::proto::v1::EventType event_type(const std::string& name) {
  if (name == "Updated")
    return hablof::proto::v1::Updated;
  if (name == "Removed")
    return hablof::proto::v1::Removed;
  return hablof::proto::v1::Created; // the schema allows no other name
}

} // namespace

violations validate(const hv1::ListPackageEventsV1Request& req, const list_limits& limits,
                    db::history_page_query& query) {
  violations out;
  check_package_id(out, req.packageid());
  if (req.limit() < 0 || req.limit() > limits.max_limit)
    out.push_back({"Limit", "must be 0 (the default page of " + std::to_string(limits.default_limit)
                                + ") to " + std::to_string(limits.max_limit) + ", got "
                                + std::to_string(req.limit())});
  query = db::history_page_query{};
  if (!req.cursor().empty()) {
    auto cursor = parse_cursor(req.cursor());
    if (!cursor)
      out.push_back({"Cursor", "is not a cursor of this API: pass a NextCursor unchanged"});
    else if (req.packageid() != 0 && cursor->package_id != req.packageid())
      out.push_back({"Cursor", "belongs to package " + std::to_string(cursor->package_id)
                                   + ", not to PackageID " + std::to_string(req.packageid())});
    else {
      query.after_seq = cursor->seq;
      query.after_event_id = cursor->event_id;
    }
  }
  if (out.empty()) {
    query.package_id = req.packageid();
    auto page = req.limit() == 0 ? limits.default_limit : req.limit();
    query.limit = static_cast<uint32_t>(page) + 1;
  }
  return out;
}

violations validate(const hv1::GetPackageAtV1Request& req) {
  violations out;
  check_package_id(out, req.packageid());
  if (!req.has_time())
    out.push_back({"Time", "is required"});
  else if (req.time().seconds() < TimeUtil::kTimestampMinSeconds
           || req.time().seconds() > TimeUtil::kTimestampMaxSeconds || req.time().nanos() < 0
           || req.time().nanos() > 999999999)
    out.push_back({"Time", "must be a valid time from 0001-01-01T00:00:00Z to "
                           "9999-12-31T23:59:59.999999999Z"});
  return out;
}

std::string next_cursor(const db::history_entry& event) {
  return base64url_encode(std::to_string(event.package_id) + ":" + std::to_string(event.seq) + ":"
                          + std::to_string(event.event_id));
}

int64_t to_unix_us(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000000 + ts.nanos() / 1000;
}

std::string format_unix_us(int64_t unix_us) {
  return TimeUtil::ToString(TimeUtil::MicrosecondsToTimestamp(unix_us));
}

void to_proto(const db::history_entry& row, hv1::PackageEvent* out) {
  out->set_id(row.event_id);
  out->set_packageid(row.package_id);
  out->set_seq(row.seq);
  out->set_type(event_type(row.type));
  *out->mutable_created() = TimeUtil::MicrosecondsToTimestamp(row.created_us);
  out->set_payloadjson(row.payload);
  if (!row.payload.empty() && !decode_package(row.payload, out->mutable_value()))
    out->clear_value();
  if (auto context = tracing::parse_traceparent(row.traceparent))
    out->set_traceid(tracing::to_hex(context->trace));
}

} // namespace lpa::history_api
