#include "grpc_gateway/openapi.hpp"

#include "google/rpc/error_details.pb.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace lpa::rest {

namespace {

namespace pb = google::protobuf;
using field_type = pb::FieldDescriptor::Type;

pb::Value text(const std::string& s) {
  pb::Value v;
  v.set_string_value(s);
  return v;
}

pb::Value object(std::initializer_list<std::pair<const std::string, pb::Value>> fields) {
  pb::Value v;
  auto& out = *v.mutable_struct_value()->mutable_fields();
  for (const auto& [key, value] : fields)
    out[key] = value;
  return v;
}

pb::Value list(const std::vector<pb::Value>& items) {
  pb::Value v;
  for (const auto& item : items)
    *v.mutable_list_value()->add_values() = item;
  return v;
}

void set(pb::Value& target, const std::string& key, pb::Value value) {
  (*target.mutable_struct_value()->mutable_fields())[key] = std::move(value);
}

// protoc-gen-openapiv2's names: the last package component and the message name, "v1Package",
// "rpcStatus", "protobufAny".
std::string definition_name(const pb::Descriptor& type) {
  const auto& package = type.file()->package();
  auto last = package.substr(package.rfind('.') + 1);
  auto name = type.full_name().substr(package.empty() ? 0 : package.size() + 1);
  name.erase(std::remove(name.begin(), name.end(), '.'), name.end());
  return last + name;
}

pb::Value reference(const pb::Descriptor& type) {
  return object({{"$ref", text("#/definitions/" + definition_name(type))}});
}

// The Swagger type and format of a scalar field, as protoc-gen-openapiv2 maps them.
std::pair<std::string, std::string> scalar_type(const pb::FieldDescriptor& field) {
  switch (field.type()) {
  case field_type::TYPE_DOUBLE:
    return {"number", "double"};
  case field_type::TYPE_FLOAT:
    return {"number", "float"};
  case field_type::TYPE_INT64:
  case field_type::TYPE_SINT64:
  case field_type::TYPE_SFIXED64:
    return {"string", "int64"};
  case field_type::TYPE_UINT64:
  case field_type::TYPE_FIXED64:
    return {"string", "uint64"};
  case field_type::TYPE_INT32:
  case field_type::TYPE_SINT32:
  case field_type::TYPE_SFIXED32:
    return {"integer", "int32"};
  case field_type::TYPE_UINT32:
  case field_type::TYPE_FIXED32:
    return {"integer", "int64"};
  case field_type::TYPE_BOOL:
    return {"boolean", ""};
  case field_type::TYPE_BYTES:
    return {"string", "byte"};
  default: // string, enum
    return {"string", ""};
  }
}

pb::Value typed(const std::pair<std::string, std::string>& type) {
  auto v = object({{"type", text(type.first)}});
  if (!type.second.empty())
    set(v, "format", text(type.second));
  return v;
}

bool is_timestamp(const pb::Descriptor& type) {
  return type.full_name() == pb::Timestamp::descriptor()->full_name();
}

bool is_any(const pb::Descriptor& type) {
  return type.full_name() == pb::Any::descriptor()->full_name();
}

// Collects the definitions of a message and of every message it refers to.
class definitions {
public:
  void add(const pb::Descriptor& type) {
    auto name = definition_name(type);
    if (schemas_.count(name) > 0)
      return;
    if (is_any(type)) {
      schemas_[name]
          = object({{"type", text("object")},
                    {"properties", object({{"@type", object({{"type", text("string")}})}})},
                    {"additionalProperties", object({})}});
      return;
    }
    schemas_[name] = pb::Value{}; // marks it while its fields are visited
    auto properties = object({});
    for (int i = 0; i < type.field_count(); ++i)
      set(properties, type.field(i)->json_name(), schema_of(*type.field(i)));
    schemas_[name] = object({{"type", text("object")}, {"properties", properties}});
  }

  pb::Value value() const {
    auto out = object({});
    for (const auto& [name, schema] : schemas_)
      set(out, name, schema);
    return out;
  }

private:
  pb::Value schema_of(const pb::FieldDescriptor& field) {
    pb::Value item;
    if (field.type() == field_type::TYPE_MESSAGE && is_timestamp(*field.message_type())) {
      item = typed({"string", "date-time"});
    } else if (field.type() == field_type::TYPE_MESSAGE) {
      add(*field.message_type());
      item = reference(*field.message_type());
    } else {
      item = typed(scalar_type(field));
    }
    if (!field.is_repeated())
      return item;
    return object({{"type", text("array")}, {"items", item}});
  }

  std::map<std::string, pb::Value> schemas_;
};

// Path and query parameters of a route without a body: every scalar field, nested ones by
// their dotted path ("Reusable.Reusable"), as grpc-gateway binds them.
void add_parameters(const pb::Descriptor& type, const std::string& prefix,
                    const std::vector<std::string>& in_path, std::vector<pb::Value>& out) {
  for (int i = 0; i < type.field_count(); ++i) {
    const auto& field = *type.field(i);
    auto name = prefix + field.json_name();
    if (field.is_repeated())
      continue;
    if (field.type() == field_type::TYPE_MESSAGE) {
      add_parameters(*field.message_type(), name + ".", in_path, out);
      continue;
    }
    bool path = std::find(in_path.begin(), in_path.end(), name) != in_path.end();
    auto parameter = typed(scalar_type(field));
    set(parameter, "name", text(name));
    set(parameter, "in", text(path ? "path" : "query"));
    pb::Value required;
    required.set_bool_value(path);
    set(parameter, "required", required);
    out.push_back(parameter);
  }
}

std::string service_of(const route& r) {
  const auto* file = r.request->GetDescriptor()->file();
  for (int i = 0; i < file->service_count(); ++i)
    if (file->service(i)->FindMethodByName(r.rpc) != nullptr)
      return file->service(i)->name();
  throw std::logic_error("no service declares " + r.rpc);
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

pb::Value operation(const route& r, definitions& defs) {
  const auto& request = *r.request->GetDescriptor();
  const auto& response = *r.response->GetDescriptor();
  defs.add(response);
  std::vector<pb::Value> parameters;
  if (r.body_is_request) {
    defs.add(request);
    pb::Value required;
    required.set_bool_value(true);
    parameters.push_back(object({{"name", text("body")},
                                 {"in", text("body")},
                                 {"required", required},
                                 {"schema", reference(request)}}));
  } else {
    add_parameters(request, "", path_parameters(r.path), parameters);
  }
  auto service = service_of(r);
  return object(
      {{"operationId", text(service + "_" + r.rpc)},
       {"tags", list({text(service)})},
       {"parameters", list(parameters)},
       {"responses",
        object(
            {{"200", object({{"description", text("A successful response.")},
                             {"schema", reference(response)}})},
             {"default", object({{"description", text("An unexpected error response.")},
                                 {"schema", reference(*google::rpc::Status::descriptor())}})}})}});
}

} // namespace

std::string openapi_document(const std::vector<route>& routes) {
  definitions defs;
  defs.add(*google::rpc::Status::descriptor());
  auto paths = object({});
  std::vector<std::string> services;
  for (const auto& r : routes) {
    auto& fields = *paths.mutable_struct_value()->mutable_fields();
    set(fields[r.path], lowercase(r.verb), operation(r, defs));
    if (std::find(services.begin(), services.end(), service_of(r)) == services.end())
      services.push_back(service_of(r));
  }
  std::vector<pb::Value> tags;
  for (const auto& service : services)
    tags.push_back(object({{"name", text(service)}}));
  auto json = list({text("application/json")});
  auto document = object(
      {{"swagger", text("2.0")},
       {"info", object({{"title", text(routes.front().request->GetDescriptor()->file()->name())},
                        {"version", text("v1")}})},
       {"tags", list(tags)},
       {"consumes", json},
       {"produces", json},
       {"paths", paths},
       {"definitions", defs.value()}});
  pb::util::JsonPrintOptions options;
  options.add_whitespace = true;
  std::string out;
  if (!pb::util::MessageToJsonString(document.struct_value(), &out, options).ok())
    throw std::logic_error("cannot print the OpenAPI document");
  return out;
}

std::string routes_page(const std::vector<route>& routes) {
  std::string rows;
  for (const auto& r : routes) {
    std::string parameters = r.body_is_request ? "JSON body: " : "";
    if (r.body_is_request) {
      const auto& request = *r.request->GetDescriptor();
      for (int i = 0; i < request.field_count(); ++i)
        parameters += (i > 0 ? ", " : "") + request.field(i)->json_name();
    } else {
      std::vector<pb::Value> bound;
      add_parameters(*r.request->GetDescriptor(), "", path_parameters(r.path), bound);
      for (const auto& p : bound) {
        const auto& fields = p.struct_value().fields();
        parameters += (parameters.empty() ? "" : ", ") + fields.at("name").string_value() + " ("
                      + fields.at("in").string_value() + ")";
      }
    }
    rows += "<tr><td>" + r.verb + "</td><td><code>" + r.path + "</code></td><td>" + r.rpc
            + "</td><td>" + parameters + "</td></tr>\n";
  }
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>logistic-package-api "
         "REST gateway</title></head>\n<body><h1>logistic-package-api REST gateway</h1>\n"
         "<p>JSON over HTTP, translated to the gRPC service. OpenAPI 2.0 document: "
         "<a href=\"/swagger.json\">/swagger.json</a></p>\n<table border=\"1\">\n"
         "<tr><th>Verb</th><th>Path</th><th>rpc</th><th>Parameters</th></tr>\n"
         + rows + "</table></body></html>\n";
}

} // namespace lpa::rest
