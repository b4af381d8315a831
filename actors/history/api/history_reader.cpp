#include "actors/history/api/history_reader.hpp"

#include "config/logging.hpp"
#include "db/pg_errors.hpp"

#include <chrono>

namespace lpa::history_api {

namespace {

using reader_ptr = reader_actor::stateful_pointer<reader_state>;

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Runs one read for a call and turns every failure into an error the gRPC service maps: a lost
// connection ends this reader (its supervisor reconnects), a statement cancelled at the deadline
// is a timeout, anything else is logged here with the request id and answered `internal`,
// without driver text. `read` gets the time left until the call's deadline.
template <class F>
caf::result<event_page> guarded(reader_ptr self, const call_meta& meta, const char* op, F&& read) {
  auto scope = self->state.probe->enter(self);
  auto& log = log::for_request(meta.debug);
  const auto& name = self->state.actor_name;
  auto budget = std::chrono::milliseconds{meta.deadline_unix_ms - unix_ms_now()};
  if (budget.count() <= 0) {
    log.debug("{}: {} skipped, deadline passed (request {})", name, op, meta.request_id);
    return caf::make_error(caf::sec::request_timeout);
  }
  try {
    log.debug("{}: {} (request {})", name, op, meta.request_id);
    return read(budget);
  } catch (const std::exception& e) {
    if (db::is_statement_timeout(e)) {
      log.debug("{}: {} cancelled at the deadline (request {})", name, op, meta.request_id);
      return caf::make_error(caf::sec::request_timeout);
    }
    if (db::is_connection_failure(e) || !self->state.store->connection().is_open()) {
      spdlog::warn("{}: history database connection lost during {} (request {}): {}", name, op,
                   meta.request_id, e.what());
      self->quit(caf::make_error(errc::unavailable));
      return caf::make_error(errc::unavailable);
    }
    spdlog::error("{}: {} failed (request {}): {}", name, op, meta.request_id, e.what());
    return caf::make_error(errc::internal);
  }
}

} // namespace

reader_actor::behavior_type reader(reader_ptr self, std::string name, db::store_settings store,
                                   actor_probe_ptr probe) {
  self->state.actor_name = name;
  self->state.probe = std::move(probe);
  try {
    self->state.store = std::make_unique<db::history_read_store>(store);
  } catch (const std::exception& e) {
    spdlog::warn("{}: cannot connect to the history database: {}", name, e.what());
    self->quit(caf::make_error(errc::unavailable));
    return reader_actor::behavior_type::make_empty_behavior();
  }
  spdlog::debug("{}: connected", name);
  return {
      [=](list_events_atom, const call_meta& meta,
          const db::history_page_query& query) -> caf::result<event_page> {
        return guarded(self, meta, "list events",
                       [&](auto budget) { return self->state.store->list_events(query, budget); });
      },
      [=](event_at_atom, const call_meta& meta, uint64_t package_id,
          int64_t at_us) -> caf::result<event_page> {
        return guarded(self, meta, "event at", [&](auto budget) {
          event_page page;
          if (auto event = self->state.store->last_event_at(package_id, at_us, budget))
            page.push_back(std::move(*event));
          return page;
        });
      },
      [=](ping_atom) -> caf::result<bool> {
        auto scope = self->state.probe->enter(self);
        try {
          self->state.store->ping();
          return true;
        } catch (const std::exception& e) {
          spdlog::warn("{}: history database does not answer: {}", self->state.actor_name,
                       e.what());
          self->quit(caf::make_error(errc::unavailable));
          return caf::make_error(errc::unavailable);
        }
      },
  };
}

} // namespace lpa::history_api
