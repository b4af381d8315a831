#include "actors/history/writer_actor.hpp"

#include "actors/history/sequencer.hpp"
#include "actors/restart_policy.hpp"
#include "db/pg_errors.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <set>

namespace lpa::history {

namespace {

using clock = std::chrono::steady_clock;

struct writer_state {
  writer_settings settings;
  metrics_ptr metrics;
  tracing::tracer_ptr tracer;
  std::shared_ptr<std::atomic<bool>> db_ok;
  std::unique_ptr<db::history_store> store; // connected on first use and after a failure
  std::optional<sequencer> events;
  std::vector<inbound_reject> rejected;
  commit_sink sink; // of the latest batch: the consumer now
  bool flush_queued = false;
  uint32_t failures = 0;
  clock::time_point retry_at{};
  std::optional<clock::time_point> release_timer; // due time of the pending gap timer
  static inline const char* name = "writer";
};

using writer_ptr = writer_actor::stateful_pointer<writer_state>;

void queue_flush(writer_ptr self) {
  auto& st = self->state;
  if (st.flush_queued || clock::now() < st.retry_at)
    return;
  st.flush_queued = true;
  self->send(self, flush_atom_v);
}

tracing::span start_span(const writer_state& st, const write_plan& plan) {
  auto span = st.tracer->start_span("record package events", tracing::span_kind::consumer);
  span.set_attribute("messaging.system", std::string{"kafka"});
  span.set_attribute("messaging.batch.message_count",
                     static_cast<int64_t>(plan.write.events.size()));
  std::vector<std::string> traceparents;
  for (const auto& e : plan.write.events)
    traceparents.push_back(e.traceparent);
  auto trace_ids = tracing::link_traces(span, traceparents);
  spdlog::debug("{}: batch of {} events (trace {}) carries traces [{}]", st.settings.name,
                plan.write.events.size(), span.trace_id_hex(), trace_ids);
  return span;
}

void count(writer_state& st, const write_plan& plan, const db::history_write_result& result) {
  auto& m = *st.metrics;
  std::set<uint64_t> inserted(result.inserted.begin(), result.inserted.end());
  std::set<uint64_t> late(plan.late.begin(), plan.late.end());
  size_t stored_duplicates = 0, reorders = 0;
  for (const auto& e : plan.write.events) {
    if (inserted.count(e.event_id) == 0)
      ++stored_duplicates;
    else if (late.count(e.event_id) > 0)
      ++reorders;
  }
  m.events_recorded.Increment(static_cast<double>(inserted.size()));
  m.states_applied.Increment(static_cast<double>(result.states_changed));
  m.duplicates_batch.Increment(static_cast<double>(plan.batch_duplicates));
  m.duplicates_stored.Increment(static_cast<double>(stored_duplicates));
  m.reorders.Increment(static_cast<double>(reorders));
  m.gaps.Increment(static_cast<double>(plan.gaps.size()));
  m.rejected.Increment(static_cast<double>(plan.write.rejected.size()));
  m.batch_size.Observe(static_cast<double>(plan.write.events.size()));
  for (const auto& gap : plan.gaps)
    spdlog::warn("{}: package {}: seq {} did not come within {} ms; applied seq {} after the gap",
                 st.settings.name, gap.package_id, gap.expected_seq, st.settings.gap_hold.count(),
                 gap.seq);
  for (const auto& r : plan.write.rejected)
    spdlog::error("{}: record {}@{} of {} kept in history_rejected: {}", st.settings.name,
                  r.partition, r.offset, r.topic, r.error);
}

void on_failure(writer_ptr self, const std::exception& e) {
  auto& st = self->state;
  st.store.reset();
  st.db_ok->store(false);
  st.metrics->db_errors.Increment();
  auto delay = exponential_backoff(st.settings.retry_backoff_min, st.settings.retry_backoff_max,
                                   st.failures++);
  if (st.failures == 1 || st.failures % 10 == 0)
    spdlog::warn("{}: history database: {} (attempt {}); {} events wait, trying again in {} ms",
                 st.settings.name,
                 db::is_connection_failure(e) ? std::string{"unreachable"} : std::string{e.what()},
                 st.failures, st.events->waiting() + st.rejected.size(), delay.count());
  st.retry_at = clock::now() + delay;
  self->delayed_send(self, delay, flush_atom_v);
}

// One transaction: what can be applied now, up to batch_max events; then the next one, or a
// timer for the events a gap holds back.
void flush(writer_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  auto now = clock::now();
  if (now < st.retry_at)
    return; // a backoff runs; its timer flushes
  write_plan plan;
  size_t rejected = 0;
  try {
    if (!st.store)
      st.store = std::make_unique<db::history_store>(st.settings.store);
    plan = st.events->plan(st.store->applied_seqs(st.events->packages()), now,
                           st.settings.batch_max);
    rejected = std::min(st.rejected.size(), st.settings.batch_max);
    for (size_t i = 0; i < rejected; ++i) {
      plan.write.rejected.push_back(st.rejected[i].record);
      plan.done.push_back(st.rejected[i].pos);
    }
    if (!plan.empty()) {
      auto span = start_span(st, plan);
      auto started = clock::now();
      auto result = st.store->write(plan.write);
      st.metrics->commit_seconds.Observe(
          std::chrono::duration<double>(clock::now() - started).count());
      st.events->commit(plan);
      st.rejected.erase(st.rejected.begin(), st.rejected.begin() + static_cast<long>(rejected));
      count(st, plan, result);
      if (st.failures > 0)
        spdlog::info("{}: history database is back after {} failed attempt(s)", st.settings.name,
                     st.failures);
      self->send(st.sink, committed_atom_v, std::move(plan.done));
    }
    st.failures = 0;
    st.db_ok->store(true);
  } catch (const std::exception& e) {
    on_failure(self, e);
    return;
  }
  st.metrics->events_held.Set(static_cast<double>(st.events->waiting()));
  if (plan.write.events.size() >= st.settings.batch_max || !st.rejected.empty()) {
    queue_flush(self); // more to write: after what arrived meanwhile
  } else if (auto due = st.events->next_release();
             due && (!st.release_timer || *due < *st.release_timer)) {
    st.release_timer = due;
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(*due - clock::now());
    self->delayed_send(self, std::max(wait, std::chrono::milliseconds{1}), release_atom_v);
  }
}

writer_actor::behavior_type writer(writer_ptr self, writer_settings settings, metrics_ptr metrics,
                                   actor_probe_ptr probe, tracing::tracer_ptr tracer,
                                   std::shared_ptr<std::atomic<bool>> db_ok) {
  auto& st = self->state;
  st.events.emplace(settings.gap_hold);
  st.settings = std::move(settings);
  st.metrics = std::move(metrics);
  st.tracer = std::move(tracer);
  st.db_ok = std::move(db_ok);
  return {
      [=](apply_atom, ingest_batch& batch, commit_sink& sink) {
        auto scope = probe->enter(self);
        auto& st = self->state;
        st.sink = std::move(sink);
        st.events->add(std::move(batch.events), clock::now());
        st.rejected.insert(st.rejected.end(), std::make_move_iterator(batch.rejected.begin()),
                           std::make_move_iterator(batch.rejected.end()));
        queue_flush(self);
      },
      [=](flush_atom) {
        auto scope = probe->enter(self);
        flush(self);
      },
      [=](release_atom) {
        auto scope = probe->enter(self);
        self->state.release_timer.reset(); // a timer that fired early is set again by flush
        flush(self);
      },
  };
}

} // namespace

writer_actor spawn_writer(caf::actor_system& sys, writer_settings settings, metrics_ptr metrics,
                          actor_probe_ptr probe, tracing::tracer_ptr tracer,
                          std::shared_ptr<std::atomic<bool>> db_ok) {
  return sys.spawn<caf::detached>(writer, std::move(settings), std::move(metrics), std::move(probe),
                                  std::move(tracer), std::move(db_ok));
}

} // namespace lpa::history
