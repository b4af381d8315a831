#include "actors/history/api/history_service.hpp"

#include "config/logging.hpp"
#include "grpc_gateway/call_metadata.hpp"
#include "grpc_gateway/status_mapping.hpp"
#include "grpc_gateway/status_names.hpp"

namespace lpa::history_api {

using clock_type = std::chrono::system_clock;

struct history_service::call {
  grpc::CallbackServerContext* ctx;
  grpc::ServerUnaryReactor* reactor;
  const char* method;
  std::chrono::steady_clock::time_point started;
  call_meta meta;
};

namespace {

int64_t to_unix_ms(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Failures of a read as gRPC statuses: never with SQL or driver text, always with the request id.
grpc::Status error_status(const caf::error& err, const std::string& request_id) {
  auto suffix = " (request id " + request_id + ")";
  if (err == errc::unavailable || err == caf::sec::request_receiver_down)
    return {grpc::StatusCode::UNAVAILABLE,
            "the history database is unavailable, retry later" + suffix};
  if (err == caf::sec::request_timeout)
    return {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline exceeded" + suffix};
  return {grpc::StatusCode::INTERNAL, "internal error" + suffix};
}

std::string package_name(uint64_t id) {
  return "package " + std::to_string(id);
}

} // namespace

history_service::history_service(caf::actor_system& sys, supervisor_actor readers,
                                 service_settings settings)
    : sys_(sys), readers_(std::move(readers)), settings_(settings) {}

history_service::call history_service::begin(grpc::CallbackServerContext* ctx, const char* method) {
  call c{ctx, ctx->DefaultReactor(), method, std::chrono::steady_clock::now(), {}};
  c.meta.request_id = request_id_of(ctx);
  c.meta.debug = settings_.allow_debug_per_request && asks_for_debug_log(ctx);
  auto deadline = ctx->deadline();
  if (deadline == clock_type::time_point::max())
    deadline = clock_type::now() + settings_.default_deadline;
  c.meta.deadline_unix_ms = to_unix_ms(deadline);
  ctx->AddInitialMetadata("x-request-id", c.meta.request_id);
  return c;
}

void history_service::finish(const call& c, const grpc::Status& status) {
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - c.started)
                .count();
  auto code = status_code_name(status.error_code());
  auto& log = log::for_request(c.meta.debug);
  if (status.error_code() == grpc::StatusCode::INTERNAL)
    log.error("{} {} in {:.1f} ms (request {})", c.method, code, ms, c.meta.request_id);
  else
    log.debug("{} {} in {:.1f} ms (request {}) {}", c.method, code, ms, c.meta.request_id,
              status.error_message());
  c.reactor->Finish(status);
}

template <class OnPage, class... Ts>
grpc::ServerUnaryReactor* history_service::ask(const call& c, OnPage on_page, Ts... request) {
  auto remaining = c.meta.deadline_unix_ms - to_unix_ms(clock_type::now());
  if (remaining <= 0) {
    finish(c, error_status(caf::sec::request_timeout, c.meta.request_id));
    return c.reactor;
  }
  // The handle travels as a spawn argument: CAF 0.17's spawn of a function without arguments
  // dereferences a null argument tuple.
  auto reply_to_call = [=](caf::event_based_actor* self, supervisor_actor readers) {
    self->request(readers, std::chrono::milliseconds{remaining}, request...)
        .then([=](event_page& page) { finish(c, on_page(page)); },
              [=](caf::error& err) { finish(c, error_status(err, c.meta.request_id)); });
  };
  sys_.spawn(reply_to_call, readers_);
  return c.reactor;
}

grpc::ServerUnaryReactor*
history_service::ListPackageEventsV1(grpc::CallbackServerContext* ctx,
                                     const hv1::ListPackageEventsV1Request* req,
                                     hv1::ListPackageEventsV1Response* rep) {
  auto c = begin(ctx, "ListPackageEventsV1");
  db::history_page_query query;
  if (auto bad = validate(*req, settings_.limits, query); !bad.empty()) {
    finish(c, invalid_argument(bad));
    return c.reactor;
  }
  auto page_size = query.limit - 1; // the query reads one more, to know whether more follow
  return ask(
      c,
      [rep, page_size](const event_page& page) {
        for (size_t i = 0; i < page.size() && i < page_size; ++i)
          to_proto(page[i], rep->add_events());
        if (page.size() > page_size)
          rep->set_nextcursor(next_cursor(page[page_size - 1]));
        return grpc::Status::OK;
      },
      list_events_atom_v, c.meta, query);
}

grpc::ServerUnaryReactor* history_service::GetPackageAtV1(grpc::CallbackServerContext* ctx,
                                                          const hv1::GetPackageAtV1Request* req,
                                                          hv1::GetPackageAtV1Response* rep) {
  auto c = begin(ctx, "GetPackageAtV1");
  if (auto bad = validate(*req); !bad.empty()) {
    finish(c, invalid_argument(bad));
    return c.reactor;
  }
  auto at_us = to_unix_us(req->time());
  auto id = req->packageid();
  return ask(
      c,
      [rep, id, at_us](const event_page& page) {
        auto at = format_unix_us(at_us);
        if (page.empty())
          return grpc::Status{grpc::StatusCode::NOT_FOUND,
                              package_name(id) + " has no recorded event at or before " + at};
        const auto& last = page.front();
        if (last.type == "Removed")
          return grpc::Status{grpc::StatusCode::NOT_FOUND,
                              package_name(id) + " was removed at "
                                  + format_unix_us(last.created_us) + " (event "
                                  + std::to_string(last.seq) + "), before " + at};
        to_proto(last, rep->mutable_event());
        if (rep->event().has_value())
          *rep->mutable_value() = rep->event().value();
        return grpc::Status::OK;
      },
      event_at_atom_v, c.meta, id, at_us);
}

} // namespace lpa::history_api
