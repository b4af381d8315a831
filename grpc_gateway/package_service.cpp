#include "grpc_gateway/package_service.hpp"

#include "config/logging.hpp"
#include "grpc_gateway/call_metadata.hpp"
#include "grpc_gateway/status_mapping.hpp"
#include "grpc_gateway/validation.hpp"

#include <algorithm>

namespace lpa {

namespace v1 = hablof::logistic_package_api::v1;
using clock_type = std::chrono::system_clock;

struct package_service::call {
  grpc::CallbackServerContext* ctx;
  grpc::ServerUnaryReactor* reactor;
  const char* method;
  bool is_write;
  std::chrono::steady_clock::time_point started;
  request_meta meta;
  std::string traceparent; // of the rpc's span
  std::shared_ptr<tracing::span> span;
};

namespace {

// Longest deadline slack the gateway gives the supervisor to answer before it gives up itself.
constexpr std::chrono::milliseconds supervisor_grace{200};

// OpenTelemetry's rule for gRPC server spans: only these codes are the server's error.
bool is_server_error(grpc::StatusCode code) {
  switch (code) {
  case grpc::StatusCode::UNKNOWN:
  case grpc::StatusCode::DEADLINE_EXCEEDED:
  case grpc::StatusCode::UNIMPLEMENTED:
  case grpc::StatusCode::INTERNAL:
  case grpc::StatusCode::UNAVAILABLE:
  case grpc::StatusCode::DATA_LOSS:
    return true;
  default:
    return false;
  }
}

// The package a request or reply names, as the span's package.id; nothing for the others.
void tag_package(tracing::span& span, uint64_t id) {
  span.set_attribute("package.id", static_cast<int64_t>(id));
}
void tag_package(tracing::span& span, const db::write_command& cmd) {
  if (cmd.kind != db::write_kind::create)
    tag_package(span, cmd.package_id);
}
void tag_package(tracing::span& span, const db::package_row& row) {
  tag_package(span, row.id);
}
template <class T>
void tag_package(tracing::span&, const T&) {}

int64_t to_unix_ms(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

void set_timestamp(google::protobuf::Timestamp* ts, int64_t unix_us) {
  auto seconds = unix_us / 1000000;
  auto micros = unix_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(micros * 1000));
}

void to_proto(const db::package_row& row, v1::Package* out) {
  out->set_id(row.id);
  out->set_title(row.title);
  out->set_material(row.material);
  out->set_maximumvolume(row.max_volume);
  out->set_reusable(row.reusable);
  set_timestamp(out->mutable_created(), row.created_us);
  if (row.has_updated)
    set_timestamp(out->mutable_updated()->mutable_time(), row.updated_us);
}

std::string package_not_found(uint64_t id) {
  return "package " + std::to_string(id) + " not found";
}

} // namespace

package_service::package_service(caf::actor_system& sys, repo_supervisor_actor repo,
                                 api_metrics& metrics, gateway_settings settings,
                                 tracing::tracer_ptr tracer)
    : sys_(sys), repo_(std::move(repo)), metrics_(metrics), settings_(settings),
      tracer_(std::move(tracer)) {}

package_service::call package_service::begin(grpc::CallbackServerContext* ctx, const char* method,
                                             bool is_write) {
  call c{ctx, ctx->DefaultReactor(), method, is_write, std::chrono::steady_clock::now(), {}, {},
         {}};
  c.meta.request_id = request_id_of(ctx);
  c.meta.debug = settings_.allow_debug_per_request && asks_for_debug_log(ctx);
  auto now = clock_type::now();
  auto deadline = ctx->deadline();
  if (deadline == clock_type::time_point::max())
    deadline = now + settings_.default_deadline;
  c.meta.deadline_unix_ms = to_unix_ms(deadline);
  c.span = std::make_shared<tracing::span>(tracer_->start_span(
      std::string{v1::LogisticPackageApiService::service_full_name()} + "/" + method,
      tracing::span_kind::server, tracing::parse_traceparent(metadata_value(ctx, "traceparent"))));
  c.span->set_attribute("rpc.system", std::string{"grpc"});
  c.span->set_attribute("rpc.service",
                        std::string{v1::LogisticPackageApiService::service_full_name()});
  c.span->set_attribute("rpc.method", std::string{method});
  c.span->set_attribute("request.id", c.meta.request_id);
  c.traceparent = c.span->traceparent();
  c.meta.trace_id = c.span->trace_id_hex();
  c.meta.rpc_span = c.span->context();
  ctx->AddInitialMetadata("x-request-id", c.meta.request_id);
  log::for_request(c.meta.debug)
      .debug("{} started (request {}, trace {}, peer {})", method, c.meta.request_id,
             c.meta.trace_id, ctx->peer());
  return c;
}

void package_service::finish(const call& c, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    // As HTTP's Retry-After: whole seconds, rounded up (the exact delay is in RetryInfo).
    auto seconds = (settings_.retry_after.count() + 999) / 1000;
    c.ctx->AddTrailingMetadata("retry-after", std::to_string(std::max<long long>(1, seconds)));
  }
  auto latency = std::chrono::steady_clock::now() - c.started;
  metrics_.record(c.method, status.error_code(), latency, c.is_write);
  auto ms = std::chrono::duration<double, std::milli>(latency).count();
  auto code = status_code_name(status.error_code());
  auto& log = log::for_request(c.meta.debug);
  if (status.error_code() == grpc::StatusCode::INTERNAL)
    log.error("{} {} in {:.1f} ms (request {}, trace {})", c.method, code, ms, c.meta.request_id,
              c.meta.trace_id);
  else
    log.debug("{} {} in {:.1f} ms (request {}, trace {}) {}", c.method, code, ms, c.meta.request_id,
              c.meta.trace_id, status.error_message());
  c.span->set_attribute("rpc.grpc.status_code", static_cast<int64_t>(status.error_code()));
  if (is_server_error(status.error_code()))
    c.span->set_status(tracing::status_code::error, code);
  c.span->end();
  c.reactor->Finish(status);
}

grpc::ServerUnaryReactor* package_service::reject(const call& c, const violations& bad) {
  finish(c, invalid_argument(bad));
  return c.reactor;
}

template <class T, class OnValue, class... Ts>
grpc::ServerUnaryReactor* package_service::ask(const call& c, std::string not_found_message,
                                               OnValue on_value, Ts... request) {
  (tag_package(*c.span, request), ...);
  auto remaining = c.meta.deadline_unix_ms - to_unix_ms(clock_type::now());
  if (remaining <= 0) {
    finish(c, to_status(caf::sec::request_timeout, not_found_message, c.meta.request_id,
                        settings_.retry_after));
    return c.reactor;
  }
  auto timeout = std::chrono::milliseconds{remaining} + supervisor_grace
                 + (c.is_write ? settings_.write_answer_grace : std::chrono::milliseconds{0});
  // The handle travels as a spawn argument: CAF 0.17's spawn of a function without arguments
  // dereferences a null argument tuple (UBSan reports it).
  auto reply_to_call = [=](caf::event_based_actor* self, repo_supervisor_actor repo) {
    self->request(repo, timeout, request...)
        .then(
            [=](T& value) {
              tag_package(*c.span, value);
              on_value(value);
              finish(c, grpc::Status::OK);
            },
            [=](caf::error& err) {
              finish(c,
                     to_status(err, not_found_message, c.meta.request_id, settings_.retry_after));
            });
  };
  sys_.spawn(reply_to_call, repo_);
  return c.reactor;
}

grpc::ServerUnaryReactor* package_service::CreatePackageV1(grpc::CallbackServerContext* ctx,
                                                           const v1::CreatePackageV1Request* req,
                                                           v1::CreatePackageV1Response* rep) {
  auto c = begin(ctx, "CreatePackageV1", true);
  auto bad = validate(*req);
  auto key = metadata_value(ctx, "idempotency-key");
  if (ctx->client_metadata().count("idempotency-key") > 0)
    for (auto& v : validate_idempotency_key(key))
      bad.push_back(std::move(v));
  if (!bad.empty())
    return reject(c, bad);
  db::write_command cmd;
  cmd.kind = db::write_kind::create;
  cmd.idempotency_key = key;
  cmd.title = req->title();
  cmd.material = req->material();
  cmd.max_volume = req->maximumvolume();
  cmd.reusable = req->reusable();
  cmd.traceparent = c.traceparent;
  return ask<uint64_t>(
      c, "", [rep](uint64_t id) { rep->set_id(id); }, write_atom_v, c.meta, cmd);
}

grpc::ServerUnaryReactor*
package_service::DescribePackageV1(grpc::CallbackServerContext* ctx,
                                   const v1::DescribePackageV1Request* req,
                                   v1::DescribePackageV1Response* rep) {
  auto c = begin(ctx, "DescribePackageV1", false);
  if (auto bad = validate(*req); !bad.empty())
    return reject(c, bad);
  return ask<db::package_row>(
      c, package_not_found(req->packageid()),
      [rep](const db::package_row& row) { to_proto(row, rep->mutable_value()); }, describe_atom_v,
      c.meta, req->packageid());
}

grpc::ServerUnaryReactor* package_service::ListPackagesV1(grpc::CallbackServerContext* ctx,
                                                          const v1::ListPackagesV1Request* req,
                                                          v1::ListPackagesV1Response* rep) {
  auto c = begin(ctx, "ListPackagesV1", false);
  if (auto bad = validate(*req); !bad.empty())
    return reject(c, bad);
  db::list_query query;
  query.offset = req->offset();
  query.cursor = req->cursor();
  query.limit = req->limit() == 0 ? default_page_size : req->limit();
  return ask<package_page>(
      c, "",
      [rep, limit = query.limit](const package_page& page) {
        for (const auto& row : page)
          to_proto(row, rep->add_packages());
        // A full page may have a successor; the client stops at the first short page.
        if (!page.empty() && page.size() == limit)
          rep->set_nextcursor(page.back().id);
      },
      list_atom_v, c.meta, query);
}

grpc::ServerUnaryReactor* package_service::RemovePackageV1(grpc::CallbackServerContext* ctx,
                                                           const v1::RemovePackageV1Request* req,
                                                           v1::RemovePackageV1Response* rep) {
  auto c = begin(ctx, "RemovePackageV1", true);
  if (auto bad = validate(*req); !bad.empty())
    return reject(c, bad);
  db::write_command cmd;
  cmd.kind = db::write_kind::remove;
  cmd.package_id = req->packageid();
  cmd.traceparent = c.traceparent;
  return ask<uint64_t>(
      c, package_not_found(req->packageid()), [rep](uint64_t) { rep->set_suc(true); }, write_atom_v,
      c.meta, cmd);
}

grpc::ServerUnaryReactor* package_service::UpdatePackageV1(grpc::CallbackServerContext* ctx,
                                                           const v1::UpdatePackageV1Request* req,
                                                           v1::UpdatePackageV1Response* rep) {
  auto c = begin(ctx, "UpdatePackageV1", true);
  if (auto bad = validate(*req); !bad.empty())
    return reject(c, bad);
  db::write_command cmd;
  cmd.kind = db::write_kind::update;
  cmd.package_id = req->packageid();
  cmd.title = req->title();
  cmd.material = req->material();
  cmd.max_volume = req->maximumvolume();
  cmd.set_reusable = req->has_reusable();
  cmd.reusable = req->has_reusable() && req->reusable().reusable();
  cmd.traceparent = c.traceparent;
  return ask<uint64_t>(
      c, package_not_found(req->packageid()), [rep](uint64_t) { rep->set_suc(true); }, write_atom_v,
      c.meta, cmd);
}

} // namespace lpa
