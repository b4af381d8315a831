#include "grpc_gateway/rest_mapping.hpp"

#include "google/rpc/error_details.pb.h"

#include <civetweb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace lpa::rest {

namespace pb = google::protobuf;

int http_status_of(grpc::StatusCode code) {
  switch (code) {
  case grpc::StatusCode::OK:
    return 200;
  case grpc::StatusCode::CANCELLED:
    return 499;
  case grpc::StatusCode::INVALID_ARGUMENT:
  case grpc::StatusCode::FAILED_PRECONDITION:
  case grpc::StatusCode::OUT_OF_RANGE:
    return 400;
  case grpc::StatusCode::DEADLINE_EXCEEDED:
    return 504;
  case grpc::StatusCode::NOT_FOUND:
    return 404;
  case grpc::StatusCode::ALREADY_EXISTS:
  case grpc::StatusCode::ABORTED:
    return 409;
  case grpc::StatusCode::PERMISSION_DENIED:
    return 403;
  case grpc::StatusCode::UNAUTHENTICATED:
    return 401;
  case grpc::StatusCode::RESOURCE_EXHAUSTED:
    return 429;
  case grpc::StatusCode::UNIMPLEMENTED:
    return 501;
  case grpc::StatusCode::UNAVAILABLE:
    return 503;
  default: // UNKNOWN, INTERNAL, DATA_LOSS
    return 500;
  }
}

namespace {

pb::util::JsonPrintOptions gateway_print_options() {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true; // grpc-gateway's EmitUnpopulated
  return options;
}

google::rpc::Status rpc_status_of(const grpc::Status& status) {
  google::rpc::Status out;
  if (!status.error_details().empty() && out.ParseFromString(status.error_details()))
    return out;
  out.set_code(status.error_code());
  out.set_message(status.error_message());
  return out;
}

grpc::Status type_mismatch(const std::string& path, const std::string& value) {
  return {grpc::StatusCode::INVALID_ARGUMENT,
          "type mismatch, parameter: " + path + ", error: cannot parse '" + value + "'"};
}

const pb::FieldDescriptor* field_named(const pb::Descriptor& type, const std::string& name) {
  for (int i = 0; i < type.field_count(); ++i) {
    const auto* field = type.field(i);
    if (field->name() == name || field->json_name() == name)
      return field;
  }
  return nullptr;
}

// Go's strconv.ParseBool, which grpc-gateway uses.
std::optional<bool> parse_bool(const std::string& s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True")
    return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False")
    return false;
  return std::nullopt;
}

template <class T, class Parse>
std::optional<T> parse_number(const std::string& s, Parse parse) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front())))
    return std::nullopt;
  char* end = nullptr;
  errno = 0;
  auto value = parse(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size())
    return std::nullopt;
  return value;
}

std::optional<unsigned long long> parse_unsigned(const std::string& s, unsigned long long max) {
  if (!s.empty() && s.front() == '-')
    return std::nullopt;
  auto value = parse_number<unsigned long long>(
      s, [](const char* p, char** end) { return std::strtoull(p, end, 10); });
  if (!value || *value > max)
    return std::nullopt;
  return value;
}

std::optional<long long> parse_signed(const std::string& s, long long min, long long max) {
  auto value = parse_number<long long>(
      s, [](const char* p, char** end) { return std::strtoll(p, end, 10); });
  if (!value || *value < min || *value > max)
    return std::nullopt;
  return value;
}

std::optional<double> parse_double(const std::string& s) {
  return parse_number<double>(s, [](const char* p, char** end) { return std::strtod(p, end); });
}

// Sets a singular scalar field from text; false when the text does not fit the field's type.
bool set_scalar(pb::Message& message, const pb::FieldDescriptor& field, const std::string& value) {
  const auto* reflection = message.GetReflection();
  using cpp = pb::FieldDescriptor::CppType;
  switch (field.cpp_type()) {
  case cpp::CPPTYPE_STRING:
    reflection->SetString(&message, &field, value);
    return true;
  case cpp::CPPTYPE_BOOL:
    if (auto b = parse_bool(value)) {
      reflection->SetBool(&message, &field, *b);
      return true;
    }
    return false;
  case cpp::CPPTYPE_UINT64:
    if (auto n = parse_unsigned(value, UINT64_MAX)) {
      reflection->SetUInt64(&message, &field, *n);
      return true;
    }
    return false;
  case cpp::CPPTYPE_UINT32:
    if (auto n = parse_unsigned(value, UINT32_MAX)) {
      reflection->SetUInt32(&message, &field, static_cast<uint32_t>(*n));
      return true;
    }
    return false;
  case cpp::CPPTYPE_INT64:
    if (auto n = parse_signed(value, INT64_MIN, INT64_MAX)) {
      reflection->SetInt64(&message, &field, *n);
      return true;
    }
    return false;
  case cpp::CPPTYPE_INT32:
    if (auto n = parse_signed(value, INT32_MIN, INT32_MAX)) {
      reflection->SetInt32(&message, &field, static_cast<int32_t>(*n));
      return true;
    }
    return false;
  case cpp::CPPTYPE_FLOAT:
    if (auto d = parse_double(value)) {
      reflection->SetFloat(&message, &field, static_cast<float>(*d));
      return true;
    }
    return false;
  case cpp::CPPTYPE_DOUBLE:
    if (auto d = parse_double(value)) {
      reflection->SetDouble(&message, &field, *d);
      return true;
    }
    return false;
  default: // enums and messages: no request of this API binds one from text
    return false;
  }
}

std::string url_decoded(const std::string& s) {
  std::string out(s.size() + 1, '\0');
  int n = mg_url_decode(s.data(), static_cast<int>(s.size()), out.data(),
                        static_cast<int>(out.size()), 1);
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

} // namespace

std::string to_json(const pb::Message& message) {
  std::string out;
  if (!pb::util::MessageToJsonString(message, &out, gateway_print_options()).ok())
    throw std::runtime_error("cannot print " + message.GetTypeName() + " as JSON");
  return out;
}

grpc::Status from_json(const std::string& body, pb::Message& message) {
  if (std::all_of(body.begin(), body.end(), [](unsigned char ch) { return std::isspace(ch); }))
    return grpc::Status::OK;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = pb::util::JsonStringToMessage(body, &message, options);
  if (parsed.ok())
    return grpc::Status::OK;
  return {grpc::StatusCode::INVALID_ARGUMENT, std::string{parsed.message()}};
}

std::string error_body(const grpc::Status& status) {
  auto rpc_status = rpc_status_of(status);
  std::string out;
  if (pb::util::MessageToJsonString(rpc_status, &out, gateway_print_options()).ok())
    return out;
  // A detail of a type this binary does not know: the code and message still go out.
  rpc_status.clear_details();
  return to_json(rpc_status);
}

grpc::Status bind_parameter(pb::Message& message, const std::string& path,
                            const std::string& value) {
  pb::Message* target = &message;
  size_t start = 0;
  for (;;) {
    auto dot = path.find('.', start);
    auto name = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const auto* field = field_named(*target->GetDescriptor(), name);
    if (field == nullptr || field->is_repeated())
      return grpc::Status::OK; // grpc-gateway v2 ignores parameters it cannot place
    if (dot == std::string::npos)
      return set_scalar(*target, *field, value) ? grpc::Status::OK : type_mismatch(path, value);
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)
      return grpc::Status::OK;
    target = target->GetReflection()->MutableMessage(target, field);
    start = dot + 1;
  }
}

grpc::Status bind_query(pb::Message& message, const std::string& query,
                        const std::vector<std::string>& skip) {
  size_t start = 0;
  while (start < query.size()) {
    auto end = std::min(query.find('&', start), query.size());
    auto pair = query.substr(start, end - start);
    start = end + 1;
    auto eq = pair.find('=');
    auto key = url_decoded(pair.substr(0, eq));
    auto value = eq == std::string::npos ? std::string{} : url_decoded(pair.substr(eq + 1));
    if (key.empty() || std::find(skip.begin(), skip.end(), key) != skip.end())
      continue;
    if (auto bound = bind_parameter(message, key, value); !bound.ok())
      return bound;
  }
  return grpc::Status::OK;
}

std::optional<std::chrono::nanoseconds> parse_grpc_timeout(const std::string& value) {
  if (value.size() < 2 || value.size() > 9)
    return std::nullopt;
  auto amount = parse_unsigned(value.substr(0, value.size() - 1), 99999999);
  if (!amount)
    return std::nullopt;
  auto n = static_cast<long long>(*amount);
  switch (value.back()) {
  case 'H':
    return std::chrono::hours{n};
  case 'M':
    return std::chrono::minutes{n};
  case 'S':
    return std::chrono::seconds{n};
  case 'm':
    return std::chrono::milliseconds{n};
  case 'u':
    return std::chrono::microseconds{n};
  case 'n':
    return std::chrono::nanoseconds{n};
  default:
    return std::nullopt;
  }
}

} // namespace lpa::rest
