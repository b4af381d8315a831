#include "actors/repo/repo_actor.hpp"

#include "config/logging.hpp"
#include "db/pg_errors.hpp"

#include <chrono>

namespace lpa {

namespace {

using repo_ptr = repo_actor::stateful_pointer<repo_actor_state>;

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Runs one database operation for a request and turns every failure into a repo error: a lost
// connection ends this actor (its supervisor reconnects), anything else is logged here with the
// request id and answered as `internal`, without driver text.
// `work` gets the time left until the request's deadline.
template <class T, class F>
caf::result<T> guarded(repo_ptr self, const request_meta& meta, const char* op, F&& work) {
  auto scope = self->state.probe->enter(self);
  auto& log = log::for_request(meta.debug);
  const auto& name = self->state.actor_name;
  auto budget = std::chrono::milliseconds{meta.deadline_unix_ms - unix_ms_now()};
  if (budget.count() <= 0) {
    log.debug("{}: {} skipped, deadline passed (request {}, trace {})", name, op, meta.request_id,
              meta.trace_id);
    return caf::make_error(caf::sec::request_timeout);
  }
  try {
    log.debug("{}: {} (request {}, trace {})", name, op, meta.request_id, meta.trace_id);
    return work(budget);
  } catch (const std::exception& e) {
    if (db::is_statement_timeout(e)) {
      log.debug("{}: {} cancelled at the deadline (request {}, trace {})", name, op,
                meta.request_id, meta.trace_id);
      return caf::make_error(caf::sec::request_timeout);
    }
    if (db::is_connection_failure(e) || !self->state.store->connection().is_open()) {
      spdlog::warn("{}: PostgreSQL connection lost during {} (request {}, trace {}): {}", name, op,
                   meta.request_id, meta.trace_id, e.what());
      self->quit(caf::make_error(repo_errc::unavailable));
      return caf::make_error(repo_errc::unavailable);
    }
    spdlog::error("{}: {} failed (request {}, trace {}): {}", name, op, meta.request_id,
                  meta.trace_id, e.what());
    return caf::make_error(repo_errc::internal);
  }
}

} // namespace

repo_actor::behavior_type repo_actor_impl(repo_ptr self, std::string name,
                                          db::store_settings settings, actor_probe_ptr probe) {
  self->state.actor_name = name;
  self->state.probe = std::move(probe);
  try {
    self->state.store = std::make_unique<db::package_store>(settings);
  } catch (const std::exception& e) {
    spdlog::warn("{}: cannot connect to PostgreSQL: {}", name, e.what());
    self->quit(caf::make_error(repo_errc::unavailable));
    return repo_actor::behavior_type::make_empty_behavior();
  }
  spdlog::debug("{}: connected", name);
  return {
      [=](write_atom, const request_meta& meta,
          const db::write_command& cmd) -> caf::result<uint64_t> {
        return guarded<uint64_t>(self, meta, "write", [&](auto budget) -> caf::result<uint64_t> {
          auto id = self->state.store->write(cmd, budget);
          if (!id)
            return caf::make_error(repo_errc::not_found);
          log::for_request(meta.debug)
              .debug("{}: {} of package {} committed (request {}, trace {})",
                     self->state.actor_name, to_string(cmd.kind), *id, meta.request_id,
                     meta.trace_id);
          return *id;
        });
      },
      [=](describe_atom, const request_meta& meta, uint64_t id) -> caf::result<db::package_row> {
        return guarded<db::package_row>(self, meta, "describe",
                                        [&](auto budget) -> caf::result<db::package_row> {
                                          auto row = self->state.store->describe(id, budget);
                                          if (!row)
                                            return caf::make_error(repo_errc::not_found);
                                          return std::move(*row);
                                        });
      },
      [=](list_atom, const request_meta& meta,
          const db::list_query& query) -> caf::result<package_page> {
        return guarded<package_page>(self, meta, "list",
                                     [&](auto budget) -> caf::result<package_page> {
                                       return self->state.store->list(query, budget);
                                     });
      },
      [=](ping_atom) -> caf::result<bool> {
        auto meta = request_meta{"health-check", false, unix_ms_now() + 1000, ""};
        return guarded<bool>(self, meta, "ping", [&](auto) -> caf::result<bool> {
          self->state.store->ping();
          return true;
        });
      },
  };
}

} // namespace lpa
