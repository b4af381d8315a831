#include "actors/repo/repo_actor.hpp"

#include "config/logging.hpp"
#include "db/pg_errors.hpp"

#include <chrono>

namespace lpa {

repo_actor_state::~repo_actor_state() {
  for (auto& w : group)
    w.promise.deliver(caf::make_error(repo_errc::unavailable));
}

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

caf::expected<uint64_t> reply_for(const db::write_outcome& outcome) {
  switch (outcome.status) {
  case db::write_status::committed:
  case db::write_status::replayed:
    return outcome.id;
  case db::write_status::not_found:
    return caf::make_error(repo_errc::not_found);
  case db::write_status::key_reused:
    return caf::make_error(repo_errc::key_reused);
  case db::write_status::deadline_exceeded:
    return caf::make_error(caf::sec::request_timeout);
  case db::write_status::conflict:
    return caf::make_error(repo_errc::unavailable);
  case db::write_status::failed:
    break;
  }
  return caf::make_error(repo_errc::internal);
}

void deliver(caf::typed_response_promise<uint64_t>& promise, caf::expected<uint64_t> reply) {
  if (reply)
    promise.deliver(*reply);
  else
    promise.deliver(std::move(reply.error()));
}

void log_outcome(repo_ptr self, const queued_write& w, const db::write_outcome& outcome) {
  auto& log = log::for_request(w.meta.debug);
  const auto& name = self->state.actor_name;
  if (outcome.status == db::write_status::committed)
    log.debug("{}: {} of package {} committed (request {}, trace {})", name, to_string(w.cmd.kind),
              outcome.id, w.meta.request_id, w.meta.trace_id);
  else if (outcome.status == db::write_status::replayed)
    log.debug("{}: create replayed package {} for its idempotency key (request {}, trace {})", name,
              outcome.id, w.meta.request_id, w.meta.trace_id);
  else if (outcome.status == db::write_status::failed)
    spdlog::error("{}: {} failed (request {}, trace {})", name, to_string(w.cmd.kind),
                  w.meta.request_id, w.meta.trace_id);
}

// Runs the gathered writes in one transaction and answers each caller after the COMMIT.
void commit_group(repo_ptr self) {
  auto& st = self->state;
  if (st.group.empty())
    return;
  auto scope = st.probe->enter(self);
  auto group = std::move(st.group);
  st.group.clear();
  std::vector<db::pending_write> writes;
  writes.reserve(group.size());
  for (const auto& w : group)
    writes.push_back({w.cmd, std::chrono::system_clock::time_point{
                                 std::chrono::milliseconds{w.meta.deadline_unix_ms}}});
  try {
    auto outcomes = st.store->write(writes);
    spdlog::debug("{}: {} writes in one transaction", st.actor_name, group.size());
    for (size_t i = 0; i < group.size(); ++i) {
      log_outcome(self, group[i], outcomes[i]);
      deliver(group[i].promise, reply_for(outcomes[i]));
    }
  } catch (const std::exception& e) {
    // Lost in the middle: whether the COMMIT happened is unknown. A client retries with the same
    // idempotency key to find out.
    bool lost = db::is_connection_failure(e) || !st.store->connection().is_open();
    auto err = caf::make_error(lost ? repo_errc::unavailable : repo_errc::internal);
    spdlog::warn("{}: a transaction of {} writes failed: {}", st.actor_name, group.size(),
                 e.what());
    for (auto& w : group)
      w.promise.deliver(err);
    if (lost)
      self->quit(caf::make_error(repo_errc::unavailable));
  }
}

// Deletes expired idempotency keys, a bounded number per tick.
void expire_keys(repo_ptr self) {
  auto& st = self->state;
  size_t deleted = 0;
  for (size_t round = 0; round < st.settings.expire_rounds; ++round) {
    auto n = st.store->expire_keys(st.settings.expire_batch);
    deleted += n;
    if (n < st.settings.expire_batch)
      break;
  }
  if (deleted > 0)
    spdlog::debug("{}: {} expired idempotency keys deleted", st.actor_name, deleted);
}

} // namespace

repo_actor::behavior_type repo_actor_impl(repo_ptr self, std::string name,
                                          repo_actor_settings settings, actor_probe_ptr probe) {
  self->state.actor_name = name;
  self->state.settings = settings;
  self->state.probe = std::move(probe);
  try {
    self->state.store = std::make_unique<db::package_store>(settings.store, settings.key_retention);
  } catch (const std::exception& e) {
    spdlog::warn("{}: cannot connect to PostgreSQL: {}", name, e.what());
    self->quit(caf::make_error(repo_errc::unavailable));
    return repo_actor::behavior_type::make_empty_behavior();
  }
  spdlog::debug("{}: connected", name);
  return {
      [=](write_atom, const request_meta& meta,
          const db::write_command& cmd) -> caf::result<uint64_t> {
        auto scope = self->state.probe->enter(self);
        auto& st = self->state;
        auto promise = self->make_response_promise<uint64_t>();
        st.group.push_back({meta, cmd, promise});
        if (st.group.size() >= st.settings.group_commit_max)
          commit_group(self);
        else if (st.group.size() == 1)
          self->send(self, commit_atom_v);
        return promise;
      },
      [=](commit_atom) { commit_group(self); },
      [=](expire_atom) {
        auto meta = request_meta{
            "key-expiry", false,
            unix_ms_now() + self->state.settings.store.statement_timeout.count(), ""};
        guarded<bool>(self, meta, "key expiry", [&](auto) -> caf::result<bool> {
          expire_keys(self);
          return true;
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
