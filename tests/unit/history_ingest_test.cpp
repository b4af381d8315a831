// package-history's pure logic: dedup and sequencing of a writer's events, the consumer's
// offset bookkeeping, and decoding records as the retranslator encodes them.
#include "actors/history/offset_tracker.hpp"
#include "actors/history/record_decoding.hpp"
#include "actors/history/sequencer.hpp"
#include "actors/retranslator/event_encoding.hpp"

#include <catch2/catch.hpp>

using namespace lpa::history;
using namespace std::chrono_literals;
using clock_type = sequencer::clock;

namespace {

inbound_event event(uint64_t event_id, uint64_t package_id, uint64_t seq, int64_t offset,
                    int32_t partition = 0) {
  inbound_event in;
  in.pos = {partition, offset};
  in.event.event_id = event_id;
  in.event.package_id = package_id;
  in.event.package_seq = seq;
  in.event.event_type = seq == 1 ? "Created" : "Updated";
  return in;
}

std::vector<uint64_t> ids(const std::vector<lpa::db::history_event_row>& rows) {
  std::vector<uint64_t> out;
  for (const auto& r : rows)
    out.push_back(r.event_id);
  return out;
}

const auto t0 = clock_type::time_point{} + 1h;

} // namespace

TEST_CASE("the same event twice in a batch is written once and both records are done",
          "[history][dedup]") {
  sequencer s{2s};
  s.add({event(10, 1, 1, 100), event(10, 1, 1, 101), event(11, 1, 2, 102)}, t0);
  auto plan = s.plan({}, t0, 500);
  CHECK(ids(plan.write.events) == std::vector<uint64_t>{10, 11});
  CHECK(plan.batch_duplicates == 1);
  CHECK(plan.done.size() == 3);
  REQUIRE(plan.write.states.size() == 1);
  CHECK(plan.write.states[0].event_id == 11);
  s.commit(plan);
  CHECK(s.waiting() == 0);
}

TEST_CASE("a duplicate arriving while the first copy waits joins it", "[history][dedup]") {
  sequencer s{2s};
  s.add({event(10, 1, 3, 100)}, t0); // waits: seq 2 missing
  s.add({event(10, 1, 3, 200, 1)}, t0 + 10ms);
  CHECK(s.waiting() == 1);
  auto plan = s.plan({{1, 1}}, t0 + 3s, 500);
  CHECK(ids(plan.write.events) == std::vector<uint64_t>{10});
  CHECK(plan.done.size() == 2);
  CHECK(plan.batch_duplicates == 1);
}

TEST_CASE("an event at or below the applied seq is recorded but leaves the state",
          "[history][seq]") {
  sequencer s{2s};
  s.add({event(7, 1, 3, 1), event(8, 1, 5, 2)}, t0);
  auto plan = s.plan({{1, 5}}, t0, 500);
  CHECK(ids(plan.write.events) == std::vector<uint64_t>{7, 8});
  CHECK(plan.late == std::vector<uint64_t>{7, 8}); // 5 is the applied one itself: a redelivery
  CHECK(plan.write.states.empty());
}

TEST_CASE("events of a package apply in seq order whatever their arrival order", "[history][seq]") {
  sequencer s{2s};
  s.add({event(3, 1, 3, 3), event(1, 1, 1, 1), event(2, 1, 2, 2), event(9, 2, 1, 4)}, t0);
  auto plan = s.plan({}, t0, 500);
  CHECK(ids(plan.write.events) == std::vector<uint64_t>{1, 2, 3, 9});
  REQUIRE(plan.write.states.size() == 2);
  CHECK(plan.write.states[0].package_seq == 3);
  CHECK(plan.write.states[1].package_seq == 1);
  CHECK(plan.gaps.empty());
  CHECK(plan.late.empty());
}

TEST_CASE("a gap holds the package back until the missing seq comes", "[history][seq][gap]") {
  sequencer s{2s};
  s.add({event(3, 1, 3, 3), event(4, 1, 4, 4), event(9, 2, 1, 5)}, t0);
  auto plan = s.plan({{1, 1}}, t0 + 1s, 500);
  CHECK(ids(plan.write.events) == std::vector<uint64_t>{9}); // package 2 flows on
  s.commit(plan);
  CHECK(s.waiting() == 2);
  CHECK(s.next_release() == t0 + 2s);
  s.add({event(2, 1, 2, 6)}, t0 + 1500ms);
  plan = s.plan({{1, 1}, {2, 1}}, t0 + 1500ms, 500);
  CHECK(ids(plan.write.events) == std::vector<uint64_t>{2, 3, 4});
  CHECK(plan.gaps.empty());
  REQUIRE(plan.write.states.size() == 1);
  CHECK(plan.write.states[0].package_seq == 4);
}

TEST_CASE("a gap is given up on after gap_hold: applied and reported", "[history][seq][gap]") {
  sequencer s{2s};
  s.add({event(3, 1, 3, 3), event(4, 1, 4, 4)}, t0);
  CHECK(s.plan({{1, 1}}, t0 + 1999ms, 500).empty());
  auto plan = s.plan({{1, 1}}, t0 + 2s, 500);
  CHECK(ids(plan.write.events) == std::vector<uint64_t>{3, 4});
  REQUIRE(plan.gaps.size() == 1);
  CHECK(plan.gaps[0].package_id == 1);
  CHECK(plan.gaps[0].expected_seq == 2);
  CHECK(plan.gaps[0].seq == 3);
  CHECK(plan.write.states.at(0).package_seq == 4);
  s.commit(plan);
  CHECK(s.waiting() == 0);
  CHECK_FALSE(s.next_release());
}

TEST_CASE("a plan takes whole packages up to about max_events", "[history][seq]") {
  sequencer s{2s};
  s.add({event(1, 1, 1, 1), event(2, 1, 2, 2), event(3, 2, 1, 3), event(4, 3, 1, 4)}, t0);
  auto plan = s.plan({}, t0, 2);
  CHECK(ids(plan.write.events) == std::vector<uint64_t>{1, 2});
  s.commit(plan);
  CHECK(s.waiting() == 2);
}

TEST_CASE("a partition commits up to its oldest record in flight", "[history][offsets]") {
  offset_tracker t;
  t.assign(0);
  t.assign(1);
  for (int64_t o = 10; o < 13; ++o)
    t.consumed({0, o});
  t.consumed({1, 5});
  CHECK(t.in_flight() == 4);
  CHECK(t.committed({0, 11}));
  CHECK(t.take_committable() == offset_tracker::offset_list{{0, 10}, {1, 5}});
  CHECK(t.committed({0, 10}));
  CHECK(t.take_committable() == offset_tracker::offset_list{{0, 12}});
  CHECK(t.committed({0, 12}));
  CHECK(t.committed({1, 5}));
  CHECK(t.take_committable() == offset_tracker::offset_list{{0, 13}, {1, 6}});
  CHECK(t.take_committable().empty());
  CHECK_FALSE(t.committed({0, 12})); // once
  CHECK(t.in_flight() == 0);
}

TEST_CASE("a rewind reads again from each partition's oldest record in flight",
          "[history][offsets]") {
  offset_tracker t;
  t.assign(0);
  t.assign(1);
  t.consumed({0, 10});
  t.consumed({0, 11});
  t.consumed({1, 3});
  t.committed({1, 3});
  CHECK(t.rewind() == offset_tracker::offset_list{{0, 10}});
  CHECK(t.in_flight() == 0);
  CHECK(t.positions() == offset_tracker::offset_list{{0, 10}, {1, 4}});
  t.consumed({0, 10});
  // A writer that held the first copy reports it: it is in the database, so it counts.
  CHECK(t.committed({0, 10}));
  CHECK(t.in_flight() == 0);
}

TEST_CASE("a revoked partition gives its credit back and is forgotten", "[history][offsets]") {
  offset_tracker t;
  t.assign(2);
  t.consumed({2, 1});
  t.consumed({2, 2});
  CHECK(t.revoke(2) == 2);
  CHECK(t.in_flight() == 0);
  CHECK_FALSE(t.assigned(2));
  CHECK_FALSE(t.committed({2, 1}));
  CHECK(t.take_committable().empty());
}

namespace {

lpa::db::rejected_row encoded(const lpa::db::outbox_event& e) {
  auto record = lpa::encode(lpa::batch_event{e, 0, 0});
  lpa::db::rejected_row raw;
  raw.topic = "omp-package-events";
  raw.partition = 2;
  raw.offset = 40;
  raw.key = record.key;
  raw.value = record.value;
  raw.headers = record.headers;
  return raw;
}

lpa::db::outbox_event sample() {
  lpa::db::outbox_event e;
  e.id = 77;
  e.package_id = 5;
  e.package_seq = 3;
  e.type = "Updated";
  e.payload = R"({"ID": 5, "Title": "crate"})";
  e.created_us = 1700000000123456;
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  return e;
}

std::string decode_error_of(const lpa::db::rejected_row& raw) {
  try {
    decode_record(raw);
  } catch (const decode_error& e) {
    return e.what();
  }
  return "";
}

} // namespace

TEST_CASE("a record the retranslator encodes decodes into the same event", "[history][decode]") {
  auto e = decode_record(encoded(sample()));
  CHECK(e.event_id == 77);
  CHECK(e.package_id == 5);
  CHECK(e.package_seq == 3);
  CHECK(e.event_type == "Updated");
  CHECK(e.payload == R"({"ID": 5, "Title": "crate"})");
  CHECK(e.created_us == 1700000000123456);
  CHECK(e.traceparent == sample().traceparent);
  CHECK(e.partition == 2);
  CHECK(e.offset == 40);
  auto removed = sample();
  removed.type = "Removed";
  removed.payload.clear();
  removed.traceparent.clear();
  auto r = decode_record(encoded(removed));
  CHECK(r.event_type == "Removed");
  CHECK(r.payload.empty());
  CHECK(r.traceparent.empty());
}

TEST_CASE("records that cannot be applied are refused with the reason", "[history][decode]") {
  auto raw = encoded(sample());
  auto garbage = raw;
  garbage.value = "\xff\xff\xff";
  CHECK(decode_error_of(garbage) == "value: not a hablof.proto.v1.PackageEvent");
  auto empty = raw;
  empty.value.clear();
  CHECK(decode_error_of(empty) == "value: ID and PackageID must be set");
  auto no_seq = raw;
  no_seq.headers.erase(no_seq.headers.begin() + 2);
  CHECK(decode_error_of(no_seq) == "header package-seq: missing");
  auto bad_seq = raw;
  bad_seq.headers[2].second = "0";
  CHECK(decode_error_of(bad_seq) == "header package-seq: expected a number >= 1, got '0'");
  auto other_key = raw;
  other_key.key = "6";
  CHECK(decode_error_of(other_key) == "key: '6' is not the PackageID 5");
  auto other_id = raw;
  other_id.headers[0].second = "78";
  CHECK(decode_error_of(other_id) == "header event-id: differs from the value's ID 77");
  auto other_type = raw;
  other_type.headers[1].second = "Removed";
  CHECK(decode_error_of(other_type) == "header event-type: expected 'Updated', got 'Removed'");
  auto not_json = sample();
  not_json.payload = "{\"ID\": ";
  CHECK(decode_error_of(encoded(not_json)) == "value: Payload is not JSON PostgreSQL accepts");
  auto nul = sample();
  nul.payload = R"({"Title": "a\u0000b"})";
  CHECK(decode_error_of(encoded(nul)) == "value: Payload is not JSON PostgreSQL accepts");
  auto bad_trace = raw;
  bad_trace.headers[3].second = "not a traceparent";
  CHECK(decode_record(bad_trace).traceparent.empty()); // dropped, not refused
}
