#include "actors/repo/repo_actor.hpp"

#include "config/logging.hpp"
#include "db/pg_errors.hpp"

#include <algorithm>
#include <chrono>

namespace lpa {

repo_actor_state::~repo_actor_state() {
  for (auto& w : group)
    w.promise.deliver(caf::make_error(repo_errc::unavailable));
}

namespace {

using repo_ptr = repo_actor::stateful_pointer<repo_actor_state>;
using sys_clock = std::chrono::system_clock;

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// When the supervisor handed the request to this actor.
sys_clock::time_point enqueued_at(const request_meta& meta) {
  return sys_clock::time_point{std::chrono::duration_cast<sys_clock::duration>(
      std::chrono::nanoseconds{meta.enqueued_unix_ns})};
}

void observe_wait(prometheus::Histogram& histogram, sys_clock::duration wait) {
  histogram.Observe(std::chrono::duration<double>(wait).count());
}

// The span of one call at this actor, a child of its rpc's span from the supervisor's hand-over
// on; none (and no allocation) when tracing is off, the rpc is not sampled, or the call is the
// actor's own work.
std::optional<tracing::span> start_call_span(repo_ptr self, const char* op,
                                             const request_meta& meta) {
  const auto& tracer = self->state.settings.tracer;
  if (!tracer || !tracer->exporting() || !meta.rpc_span.valid() || !meta.rpc_span.sampled())
    return std::nullopt;
  auto span = tracer->start_span(std::string{"repo."} + op, tracing::span_kind::internal,
                                 meta.rpc_span, enqueued_at(meta));
  span.set_attribute("repo.actor", self->state.actor_name);
  return span;
}

// Makes a CLIENT span of each statement, a child of the span it ran for: a write's statements
// under that write's call span, the others (BEGIN and COMMIT, or every statement of a read) under
// `shared`.
class statement_spans final : public db::statement_observer {
public:
  statement_spans(const tracing::tracer& tracer, const tracing::span* shared,
                  std::vector<const tracing::span*> per_write = {})
      : tracer_(tracer), shared_(shared), per_write_(std::move(per_write)) {}

  void statement(const db::statement_event& e) override {
    const auto* parent = e.write < per_write_.size() ? per_write_[e.write] : shared_;
    if (!parent)
      return; // a write whose rpc is not traced
    auto span = tracer_.start_span(std::string{"SQL "} + e.name, tracing::span_kind::client,
                                   parent->context(), e.start);
    span.set_attribute("db.system", std::string{"postgresql"});
    span.set_attribute("db.operation.name", std::string{e.name});
    if (e.failed)
      span.set_status(tracing::status_code::error);
    span.end(e.end);
  }

private:
  const tracing::tracer& tracer_;
  const tracing::span* shared_;
  std::vector<const tracing::span*> per_write_;
};

// Runs one database operation for a request and turns every failure into a repo error: a lost
// connection ends this actor (its supervisor reconnects), anything else is logged here with the
// request id and answered as `internal`, without driver text.
// `work` gets the time left until the request's deadline, and the observer of its statements
// (null unless the call is traced). A request the supervisor handed over (a read) has its queue
// wait measured.
template <class T, class F>
caf::result<T> guarded(repo_ptr self, const request_meta& meta, const char* op, F&& work) {
  auto scope = self->state.probe->enter(self);
  auto& log = log::for_request(meta.debug);
  const auto& name = self->state.actor_name;
  if (meta.enqueued_unix_ns != 0)
    observe_wait(self->state.settings.metrics->read_queue_wait,
                 sys_clock::now() - enqueued_at(meta));
  auto span = start_call_span(self, op, meta);
  auto budget = std::chrono::milliseconds{meta.deadline_unix_ms - unix_ms_now()};
  if (budget.count() <= 0) {
    log.debug("{}: {} skipped, deadline passed (request {}, trace {})", name, op, meta.request_id,
              meta.trace_id);
    return caf::make_error(caf::sec::request_timeout);
  }
  std::optional<statement_spans> statements;
  if (span)
    statements.emplace(*self->state.settings.tracer, &*span);
  try {
    log.debug("{}: {} (request {}, trace {})", name, op, meta.request_id, meta.trace_id);
    return work(budget, statements ? &*statements : nullptr);
  } catch (const std::exception& e) {
    if (span)
      span->set_status(tracing::status_code::error);
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

// Answers a write's caller, then ends its call span.
void deliver(queued_write& w, caf::expected<uint64_t> reply) {
  if (w.span && !reply && reply.error() != repo_errc::not_found
      && reply.error() != repo_errc::key_reused)
    w.span->set_status(tracing::status_code::error);
  if (reply)
    w.promise.deliver(*reply);
  else
    w.promise.deliver(std::move(reply.error()));
  if (w.span)
    w.span->end();
}

// The span of a group's transaction, in the trace of its first traced write (a child of that
// write's call span), linked to the call span of every other traced write, which links back: one
// transaction serves several rpcs, and a span has one parent (OpenTelemetry's way for batches).
// None when no write of the group is traced.
std::optional<tracing::span> start_transaction_span(repo_ptr self, std::vector<queued_write>& group,
                                                    sys_clock::time_point started) {
  auto first = std::find_if(group.begin(), group.end(),
                            [](const queued_write& w) { return w.span.has_value(); });
  if (first == group.end())
    return std::nullopt;
  auto tx = self->state.settings.tracer->start_span(
      "repo.transaction", tracing::span_kind::internal, first->span->context(), started);
  tx.set_attribute("repo.actor", self->state.actor_name);
  tx.set_attribute("repo.group_size", static_cast<int64_t>(group.size()));
  for (auto w = std::next(first); w != group.end(); ++w)
    if (w->span) {
      tx.add_link(w->span->context());
      w->span->add_link(tx.context());
    }
  return tx;
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
  auto started = sys_clock::now();
  st.settings.metrics->group_size.Observe(static_cast<double>(group.size()));
  std::vector<db::pending_write> writes;
  writes.reserve(group.size());
  for (const auto& w : group) {
    observe_wait(st.settings.metrics->write_queue_wait, started - enqueued_at(w.meta));
    writes.push_back({w.cmd, std::chrono::system_clock::time_point{
                                 std::chrono::milliseconds{w.meta.deadline_unix_ms}}});
  }
  auto tx_span = start_transaction_span(self, group, started);
  std::optional<statement_spans> statements;
  if (tx_span) {
    std::vector<const tracing::span*> per_write;
    per_write.reserve(group.size());
    for (const auto& w : group)
      per_write.push_back(w.span ? &*w.span : nullptr);
    statements.emplace(*st.settings.tracer, &*tx_span, std::move(per_write));
  }
  try {
    auto outcomes = st.store->write(writes, statements ? &*statements : nullptr);
    spdlog::debug("{}: {} writes in one transaction", st.actor_name, group.size());
    if (tx_span)
      tx_span->end();
    for (size_t i = 0; i < group.size(); ++i) {
      log_outcome(self, group[i], outcomes[i]);
      deliver(group[i], reply_for(outcomes[i]));
    }
  } catch (const std::exception& e) {
    // Lost in the middle: whether the COMMIT happened is unknown. A client retries with the same
    // idempotency key to find out.
    bool lost = db::is_connection_failure(e) || !st.store->connection().is_open();
    auto err = caf::make_error(lost ? repo_errc::unavailable : repo_errc::internal);
    spdlog::warn("{}: a transaction of {} writes failed: {}", st.actor_name, group.size(),
                 e.what());
    if (tx_span)
      tx_span->set_status(tracing::status_code::error);
    for (auto& w : group)
      deliver(w, err);
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
        st.group.push_back({meta, cmd, promise, start_call_span(self, "write", meta)});
        if (st.group.size() >= st.settings.group_commit_max)
          commit_group(self);
        else if (st.group.size() == 1)
          self->send(self, commit_atom_v);
        return promise;
      },
      [=](commit_atom) { commit_group(self); },
      [=](expire_atom) {
        request_meta meta;
        meta.request_id = "key-expiry";
        meta.deadline_unix_ms
            = unix_ms_now() + self->state.settings.store.statement_timeout.count();
        guarded<bool>(self, meta, "key expiry", [&](auto, auto) -> caf::result<bool> {
          expire_keys(self);
          return true;
        });
      },
      [=](describe_atom, const request_meta& meta, uint64_t id) -> caf::result<db::package_row> {
        return guarded<db::package_row>(
            self, meta, "describe",
            [&](auto budget, auto* observer) -> caf::result<db::package_row> {
              auto row = self->state.store->describe(id, budget, observer);
              if (!row)
                return caf::make_error(repo_errc::not_found);
              return std::move(*row);
            });
      },
      [=](list_atom, const request_meta& meta,
          const db::list_query& query) -> caf::result<package_page> {
        return guarded<package_page>(self, meta, "list",
                                     [&](auto budget, auto* observer) -> caf::result<package_page> {
                                       return self->state.store->list(query, budget, observer);
                                     });
      },
      [=](ping_atom) -> caf::result<bool> {
        request_meta meta;
        meta.request_id = "health-check";
        meta.deadline_unix_ms = unix_ms_now() + 1000;
        return guarded<bool>(self, meta, "ping", [&](auto, auto) -> caf::result<bool> {
          self->state.store->ping();
          return true;
        });
      },
  };
}

} // namespace lpa
