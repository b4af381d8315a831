#include "actors/restart_policy.hpp"

#include <catch2/catch.hpp>

using namespace lpa;
using namespace std::chrono_literals;

TEST_CASE("exponential backoff doubles from min and stops at max", "[backoff]") {
  CHECK(exponential_backoff(10ms, 1000ms, 0) == 10ms);
  CHECK(exponential_backoff(10ms, 1000ms, 1) == 20ms);
  CHECK(exponential_backoff(10ms, 1000ms, 6) == 640ms);
  CHECK(exponential_backoff(10ms, 1000ms, 7) == 1000ms);
  CHECK(exponential_backoff(10ms, 1000ms, 4000000000u) == 1000ms);
}

TEST_CASE("a child that keeps failing fast backs off further each time", "[restart]") {
  restart_policy policy{10ms, 1000ms, 0, 60000ms};
  restart_policy::time_point t{};
  CHECK(policy.on_failure(t, t + 1ms) == 10ms);
  CHECK(policy.on_failure(t + 11ms, t + 12ms) == 20ms);
  CHECK(policy.on_failure(t + 32ms, t + 33ms) == 40ms);
}

TEST_CASE("a child that ran stably restarts after the shortest backoff again", "[restart]") {
  restart_policy policy{10ms, 100ms, 0, 60000ms};
  restart_policy::time_point t{};
  policy.on_failure(t, t + 1ms);
  policy.on_failure(t, t + 2ms);
  CHECK(policy.on_failure(t + 2ms, t + 5000ms) == 10ms);
}

TEST_CASE("more than max_restarts within the window escalates, older ones age out", "[restart]") {
  restart_policy policy{1ms, 1ms, 3, 1000ms};
  restart_policy::time_point t{};
  CHECK(policy.on_failure(t, t + 100ms).has_value());
  CHECK(policy.on_failure(t, t + 200ms).has_value());
  CHECK(policy.on_failure(t, t + 300ms).has_value());
  CHECK_FALSE(policy.on_failure(t, t + 400ms).has_value());
  // The first failure left the window: one more restart is allowed.
  CHECK(policy.on_failure(t, t + 1150ms).has_value());
}

TEST_CASE("max_restarts 0 never escalates", "[restart]") {
  restart_policy policy{1ms, 1ms, 0, 1000ms};
  restart_policy::time_point t{};
  for (int i = 0; i < 1000; ++i)
    REQUIRE(policy.on_failure(t, t + std::chrono::milliseconds{i}).has_value());
}
