#include <catch2/catch.hpp>

#include "tests/support/history_checker.hpp"

#include <utility>
#include <vector>

using lpa::test::check_history;
using lpa::test::committed_event;
using lpa::test::consumed_event;

namespace {

// Events of one package (id 7) whose event id is 100 + seq.
committed_event committed_seq(uint64_t seq) {
  return {100 + seq, 7, seq};
}

consumed_event consumed_seq(uint64_t seq) {
  consumed_event ev;
  ev.event_id = 100 + seq;
  ev.package_id = 7;
  ev.package_seq = seq;
  ev.type = "Updated";
  ev.key = "7";
  return ev;
}

std::vector<committed_event> committed_seqs(std::vector<uint64_t> seqs) {
  std::vector<committed_event> out;
  for (uint64_t seq : seqs)
    out.push_back(committed_seq(seq));
  return out;
}

std::vector<consumed_event> consumed_seqs(std::vector<uint64_t> seqs) {
  std::vector<consumed_event> out;
  for (uint64_t seq : seqs)
    out.push_back(consumed_seq(seq));
  return out;
}

} // namespace

TEST_CASE("a clean history of interleaved packages is ok") {
  std::vector<committed_event> committed;
  std::vector<consumed_event> consumed;
  uint64_t event_id = 1;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    for (uint64_t package = 1; package <= 4; ++package) {
      committed.push_back({event_id, package, seq});
      consumed_event ev;
      ev.event_id = event_id;
      ev.package_id = package;
      ev.package_seq = seq;
      consumed.push_back(ev);
      ++event_id;
    }
  }
  auto report = check_history(committed, consumed);
  CHECK(report.ok());
  CHECK(report.committed == 12);
  CHECK(report.consumed == 12);
  CHECK(report.lost == 0);
  CHECK(report.duplicated == 0);
  CHECK(report.reordered == 0);
  CHECK(report.unknown == 0);
  CHECK(report.examples.empty());
  CHECK(report.summary()
        == "committed 12, consumed 12, lost 0, duplicated 0, reordered 0, unknown 0");
}

TEST_CASE("an empty history is ok") {
  auto report = check_history({}, {});
  CHECK(report.ok());
  CHECK(report.summary()
        == "committed 0, consumed 0, lost 0, duplicated 0, reordered 0, unknown 0");
}

TEST_CASE("redelivered events are duplicates, not errors") {
  auto report = check_history(committed_seqs({1, 2}), consumed_seqs({1, 2, 1, 2}));
  CHECK(report.ok());
  CHECK(report.duplicated == 2);
  CHECK(report.reordered == 0);
  CHECK(report.lost == 0);
  CHECK(report.consumed == 4);
  CHECK(report.examples.empty());
}

TEST_CASE("a gap filled later is a reorder") {
  auto report = check_history(committed_seqs({1, 2, 3}), consumed_seqs({1, 3, 2}));
  CHECK_FALSE(report.ok());
  CHECK(report.reordered == 1);
  CHECK(report.duplicated == 0);
  CHECK(report.lost == 0);
  REQUIRE(report.examples.size() == 1);
  CHECK(report.examples[0].find("reordered event 102 (package 7 seq 2)") != std::string::npos);

  SECTION("and its redelivery afterwards a duplicate") {
    auto again = check_history(committed_seqs({1, 2, 3}), consumed_seqs({1, 3, 2, 3}));
    CHECK(again.reordered == 1);
    CHECK(again.duplicated == 1);
  }
}

TEST_CASE("a committed event never consumed is lost") {
  auto report = check_history(committed_seqs({1, 2, 3}), consumed_seqs({1, 3}));
  CHECK_FALSE(report.ok());
  CHECK(report.lost == 1);
  CHECK(report.reordered == 0);
  REQUIRE(report.examples.size() == 1);
  CHECK(report.examples[0] == "lost event 102 (package 7 seq 2)");
}

TEST_CASE("a consumed event never committed is unknown") {
  auto consumed = consumed_seqs({1, 2});
  consumed_event stranger = consumed_seq(9);
  stranger.event_id = 999;
  consumed.push_back(stranger);
  auto report = check_history(committed_seqs({1, 2}), consumed);
  CHECK_FALSE(report.ok());
  CHECK(report.unknown == 1);
  CHECK(report.lost == 0);
  CHECK(report.reordered == 0);
  REQUIRE(report.examples.size() == 1);
  CHECK(report.examples[0].find("unknown event 999") == 0);

  SECTION("as is one carrying another package's identity") {
    auto mixed = consumed_seqs({1, 2});
    mixed[1].package_seq = 5;
    auto r = check_history(committed_seqs({1, 2}), mixed);
    CHECK(r.unknown == 1);
    CHECK(r.lost == 1); // the real seq 2 never arrived
  }
}

TEST_CASE("examples stop at 20") {
  std::vector<uint64_t> seqs;
  for (uint64_t seq = 1; seq <= 100; ++seq)
    seqs.push_back(seq);
  auto report = check_history(committed_seqs(seqs), {});
  CHECK(report.lost == 100);
  CHECK(report.examples.size() == 20);
}
