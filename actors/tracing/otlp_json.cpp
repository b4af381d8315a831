#include "actors/tracing/otlp_json.hpp"

#include <nlohmann/json.hpp>

namespace lpa::tracing {

namespace {

using nlohmann::json;

constexpr const char* scope_name = "logistic-package-api";

std::string unix_nanos(std::chrono::system_clock::time_point t) {
  return std::to_string(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

json any_value(const attribute_value& value) {
  if (const auto* s = std::get_if<std::string>(&value))
    return {{"stringValue", *s}};
  if (const auto* i = std::get_if<int64_t>(&value))
    return {{"intValue", std::to_string(*i)}};
  return {{"boolValue", std::get<bool>(value)}};
}

json key_value(const std::string& key, const attribute_value& value) {
  return {{"key", key}, {"value", any_value(value)}};
}

json span_json(const span_data& s) {
  json attributes = json::array();
  for (const auto& [key, value] : s.attributes)
    attributes.push_back(key_value(key, value));
  json links = json::array();
  for (const auto& link : s.links)
    links.push_back({{"traceId", to_hex(link.trace)}, {"spanId", to_hex(link.span)}});
  json status = {{"code", static_cast<int>(s.status)}};
  if (!s.status_message.empty())
    status["message"] = s.status_message;
  json out = {
      {"traceId", to_hex(s.context.trace)},
      {"spanId", to_hex(s.context.span)},
      {"name", s.name},
      {"kind", static_cast<int>(s.kind)},
      {"startTimeUnixNano", unix_nanos(s.start)},
      {"endTimeUnixNano", unix_nanos(s.end)},
      {"attributes", std::move(attributes)},
      {"status", std::move(status)},
  };
  if (s.parent)
    out["parentSpanId"] = to_hex(*s.parent);
  if (!links.empty())
    out["links"] = std::move(links);
  return out;
}

} // namespace

std::string encode_export_request(const std::vector<span_data>& spans,
                                  const std::string& service_name) {
  json span_array = json::array();
  for (const auto& s : spans)
    span_array.push_back(span_json(s));
  json resource = {{"attributes", json::array({key_value("service.name", service_name)})}};
  json scope_spans = {{"scope", {{"name", scope_name}}}, {"spans", std::move(span_array)}};
  json request
      = {{"resourceSpans", json::array({{{"resource", std::move(resource)},
                                         {"scopeSpans", json::array({std::move(scope_spans)})}}})}};
  return request.dump();
}

} // namespace lpa::tracing
