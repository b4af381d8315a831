// How slots are shared among retranslators and among one retranslator's consumers.
#include "actors/retranslator/slot_assignment.hpp"

#include <catch2/catch.hpp>

#include <numeric>
#include <set>

using namespace lpa;

namespace {

std::vector<db::slot_lease> leases(uint32_t first, uint32_t count) {
  std::vector<db::slot_lease> out;
  for (uint32_t i = 0; i < count; ++i)
    out.push_back({first + i, 1});
  return out;
}

} // namespace

TEST_CASE("the fair share covers every slot and differs by at most one between retranslators",
          "[slots]") {
  CHECK(fair_share(256, 1) == 256);
  CHECK(fair_share(256, 2) == 128);
  CHECK(fair_share(256, 3) == 86);
  CHECK(fair_share(256, 0) == 256); // before the first heartbeat counted anyone
  for (size_t live = 1; live <= 10; ++live)
    CHECK(fair_share(256, live) * live >= 256);
}

TEST_CASE("a retranslator takes slots up to its share and hands the highest ones over beyond it",
          "[slots]") {
  auto start = rebalance({}, 256, 1);
  CHECK(start.acquire == 256);
  CHECK(start.release.empty());

  // A second retranslator joined: give half away, the highest slot numbers first.
  auto joined = rebalance(leases(0, 256), 256, 2);
  CHECK(joined.acquire == 0);
  REQUIRE(joined.release.size() == 128);
  std::set<uint32_t> released;
  for (const auto& l : joined.release)
    released.insert(l.slot);
  CHECK(*released.begin() == 128);
  CHECK(*released.rbegin() == 255);

  // It left (or froze past its lease): take the rest again.
  CHECK(rebalance(leases(0, 128), 256, 1).acquire == 128);
  // At its share: nothing to do.
  auto even = rebalance(leases(0, 86), 256, 3);
  CHECK(even.acquire == 0);
  CHECK(even.release.empty());
}

TEST_CASE("each slot goes to one consumer, the same one for as long as it is held", "[slots]") {
  auto split = split_among(leases(0, 10), 3);
  REQUIRE(split.size() == 3);
  size_t total = 0;
  for (size_t c = 0; c < split.size(); ++c)
    for (const auto& l : split[c]) {
      CHECK(l.slot % 3 == c);
      ++total;
    }
  CHECK(total == 10);
  // Gaining or losing other slots does not move a slot to another consumer.
  auto later = split_among(leases(5, 20), 3);
  for (size_t c = 0; c < later.size(); ++c)
    for (const auto& l : later[c])
      CHECK(l.slot % 3 == c);
}
