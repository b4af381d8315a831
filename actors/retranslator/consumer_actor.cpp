#include "actors/retranslator/pipeline.hpp"

#include <spdlog/spdlog.h>

namespace lpa {

namespace {

using consumer_ptr = consumer_actor::stateful_pointer<consumer_state>;

struct consumer_env {
  consumer_settings settings;
  consumer_outbox outbox;
  metrics_ptr metrics;
};

void claim(consumer_ptr self, const consumer_env& env);

size_t batch_events(const db::outbox_outcome& o) {
  return o.delivered.size() + o.released.size();
}

// The batch is fully accounted for (cleaned, or abandoned to its lease): its credit returns.
void finish(consumer_ptr self, const consumer_env& env, uint64_t batch) {
  auto& st = self->state;
  auto i = st.cleaning.find(batch);
  if (i == st.cleaning.end())
    return;
  auto n = batch_events(i->second);
  st.cleaning.erase(i);
  st.clean_attempts.erase(batch);
  st.in_flight -= n;
  *st.in_flight_shared -= static_cast<int64_t>(n);
  env.metrics->events_in_flight.Decrement(static_cast<double>(n));
  if (st.draining) {
    if (st.in_flight == 0) {
      for (auto& p : st.drained)
        p.deliver(true);
      st.drained.clear();
    }
    return;
  }
  claim(self, env);
}

void request_clean(consumer_ptr self, const consumer_env& env, uint64_t batch) {
  auto& st = self->state;
  if (!st.cleaner) {
    self->delayed_send(self, env.settings.backoff_min, retry_atom_v, batch);
    return;
  }
  self->request(st.cleaner, env.settings.clean_timeout, clean_atom_v, st.cleaning.at(batch))
      .then([=](bool) { finish(self, env, batch); },
            [=](caf::error& err) {
              auto& st = self->state;
              if (st.cleaning.count(batch) == 0)
                return;
              auto attempt = ++st.clean_attempts[batch];
              if (attempt >= env.settings.clean_attempts) {
                spdlog::error("{}: cleaner did not apply batch {} ({}); leaving its events to the "
                              "lease",
                              env.settings.name, batch, self->system().render(err));
                finish(self, env, batch); // no longer renewed: the lease brings them back
                return;
              }
              auto delay = exponential_backoff(env.settings.backoff_min, env.settings.backoff_max,
                                               attempt - 1);
              self->delayed_send(self, delay, retry_atom_v, batch);
            });
}

// The batch's fate is known: it leaves the sender's side and waits for the cleaner, at once or
// after `delay` (its leases stay renewed meanwhile, its credit stays spent).
void to_cleaner(consumer_ptr self, const consumer_env& env, uint64_t batch, delivery_result result,
                milliseconds delay) {
  auto& st = self->state;
  auto i = st.sending.find(batch);
  if (i == st.sending.end())
    return; // aborted earlier and released
  st.sending.erase(i);
  st.cleaning[batch] = db::outbox_outcome{env.settings.owner, std::move(result.delivered),
                                          std::move(result.failed)};
  if (delay.count() > 0)
    self->delayed_send(self, delay, retry_atom_v, batch);
  else
    request_clean(self, env, batch);
}

// Kafka decided. Events it refused for good are released only after a backoff that grows while
// refusals go on: retrying them at once would spin, and releasing keeps them in order ahead of
// their package's later events.
void on_delivery(consumer_ptr self, const consumer_env& env, uint64_t batch,
                 delivery_result result) {
  auto& st = self->state;
  if (st.sending.count(batch) == 0)
    return;
  if (result.failed.empty()) {
    st.refusals = 0;
    to_cleaner(self, env, batch, std::move(result), milliseconds{0});
    return;
  }
  auto delay
      = exponential_backoff(env.settings.backoff_min, env.settings.backoff_max, st.refusals++);
  spdlog::warn("{}: Kafka refused {} event(s) of batch {} (first id {}); releasing them in {} "
               "ms for another try",
               env.settings.name, result.failed.size(), batch, result.failed.front(),
               delay.count());
  to_cleaner(self, env, batch, std::move(result), delay);
}

void send_to_producer(consumer_ptr self, const consumer_env& env, event_batch batch) {
  auto& st = self->state;
  auto producer = st.producers[st.next_producer++ % st.producers.size()];
  auto id = batch.batch_id;
  std::vector<uint64_t> ids;
  for (const auto& e : batch.events)
    ids.push_back(e.id);
  st.sending[id] = ids;
  self->request(producer, env.settings.send_timeout, encode_atom_v, std::move(batch))
      .then([=](delivery_result& result) { on_delivery(self, env, id, std::move(result)); },
            [=](caf::error& err) {
              spdlog::warn("{}: batch {} not sent ({}), releasing it", env.settings.name, id,
                           self->system().render(err));
              to_cleaner(self, env, id, delivery_result{{}, ids}, milliseconds{0});
            });
}

// Claims as much as the credit allows, once per wake-up; a full batch asks for more at once.
void claim(consumer_ptr self, const consumer_env& env) {
  auto& st = self->state;
  const auto& s = env.settings;
  if (st.draining || st.producers.empty() || !st.cleaner || st.in_flight >= s.credit)
    return;
  auto limit = std::min(s.batch, s.credit - st.in_flight);
  std::vector<db::outbox_event> events;
  try {
    events = env.outbox.claim(s.owner, limit, s.lease);
    if (st.claim_failures > 0)
      spdlog::info("{}: claiming again", s.name);
    st.claim_failures = 0;
  } catch (const std::exception& e) {
    if (st.claim_failures++ == 0)
      spdlog::warn("{}: cannot claim events (will keep polling): {}", s.name, e.what());
    return;
  }
  if (events.empty())
    return;
  auto n = events.size();
  st.in_flight += n;
  *st.in_flight_shared += static_cast<int64_t>(n);
  env.metrics->events_in_flight.Increment(static_cast<double>(n));
  env.metrics->batch_size.Observe(static_cast<double>(n));
  send_to_producer(self, env, event_batch{st.next_batch++, s.owner, std::move(events)});
  if (n == limit)
    self->send(self, claim_atom_v);
}

std::vector<uint64_t> held_ids(const consumer_state& st) {
  std::vector<uint64_t> ids;
  for (const auto& [batch, xs] : st.sending)
    ids.insert(ids.end(), xs.begin(), xs.end());
  for (const auto& [batch, o] : st.cleaning) {
    ids.insert(ids.end(), o.delivered.begin(), o.delivered.end());
    ids.insert(ids.end(), o.released.begin(), o.released.end());
  }
  return ids;
}

} // namespace

consumer_actor::behavior_type consumer(consumer_ptr self, consumer_settings settings,
                                       consumer_outbox outbox,
                                       std::shared_ptr<std::atomic<int64_t>> in_flight,
                                       metrics_ptr metrics, actor_probe_ptr probe) {
  auto& st = self->state;
  st.in_flight_shared = std::move(in_flight);
  consumer_env env{settings, std::move(outbox), metrics};
  self->send(self, poll_atom_v);
  self->delayed_send(self, settings.lease / 3, renew_atom_v);
  return {
      [=](claim_atom) {
        auto scope = probe->enter(self);
        claim(self, env);
      },
      [=](poll_atom) {
        auto scope = probe->enter(self);
        claim(self, env); // the fallback for a missed NOTIFY
        self->delayed_send(self, env.settings.poll_interval, poll_atom_v);
      },
      [=](renew_atom) {
        auto scope = probe->enter(self);
        auto ids = held_ids(self->state);
        try {
          env.outbox.renew(env.settings.owner, ids, env.settings.lease);
        } catch (const std::exception& e) {
          spdlog::warn("{}: cannot renew {} lease(s): {}", env.settings.name, ids.size(), e.what());
        }
        self->delayed_send(self, env.settings.lease / 3, renew_atom_v);
      },
      [=](wire_atom, std::vector<producer_actor> producers, cleaner_actor cleaner) {
        auto scope = probe->enter(self);
        auto& st = self->state;
        auto new_cleaner = st.cleaner != cleaner;
        st.producers = std::move(producers);
        st.cleaner = std::move(cleaner);
        // A new cleaner never saw the requests the old one held: ask again (clean is idempotent).
        if (new_cleaner)
          for (const auto& entry : st.cleaning)
            request_clean(self, env, entry.first);
        claim(self, env);
      },
      [=](retry_atom, uint64_t batch) {
        auto scope = probe->enter(self);
        if (self->state.cleaning.count(batch) > 0)
          request_clean(self, env, batch);
      },
      [=](abort_atom) {
        auto scope = probe->enter(self);
        std::vector<uint64_t> batches;
        for (const auto& entry : self->state.sending)
          batches.push_back(entry.first);
        for (auto batch : batches) {
          auto ids = self->state.sending.at(batch);
          to_cleaner(self, env, batch, delivery_result{{}, std::move(ids)}, milliseconds{0});
        }
      },
      [=](drain_atom) -> caf::result<bool> {
        auto scope = probe->enter(self);
        auto& st = self->state;
        st.draining = true;
        if (st.in_flight == 0)
          return true;
        auto promise = self->make_response_promise<bool>();
        st.drained.push_back(promise);
        return promise;
      },
      [=](release_atom) -> caf::result<uint64_t> {
        auto scope = probe->enter(self);
        auto& st = self->state;
        st.draining = true;
        try {
          auto n = env.outbox.release(env.settings.owner);
          env.metrics->events_released.Increment(static_cast<double>(n));
          env.metrics->events_in_flight.Decrement(static_cast<double>(st.in_flight));
          *st.in_flight_shared -= static_cast<int64_t>(st.in_flight);
          st.in_flight = 0;
          st.sending.clear();
          st.cleaning.clear();
          return static_cast<uint64_t>(n);
        } catch (const std::exception& e) {
          spdlog::warn("{}: cannot release its events (their leases will expire): {}",
                       env.settings.name, e.what());
          return caf::make_error(caf::sec::runtime_error);
        }
      },
  };
}

} // namespace lpa
