#pragma once

#include <caf/all.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace lpa::test {

// The stages a pipeline's supervisor runs now, by name (its get_atom), for fault injection.
template <class Supervisor>
std::vector<std::pair<std::string, caf::actor>> running_stages(caf::actor_system& sys,
                                                               const Supervisor& supervisor) {
  caf::scoped_actor self{sys};
  std::vector<std::pair<std::string, caf::actor>> out;
  self->request(supervisor, caf::duration{std::chrono::seconds{5}}, caf::get_atom_v)
      .receive(
          [&](std::vector<std::string>& names, std::vector<caf::actor>& handles) {
            for (size_t i = 0; i < names.size(); ++i)
              out.emplace_back(names[i], handles[i]);
          },
          [](caf::error&) {});
  return out;
}

} // namespace lpa::test
