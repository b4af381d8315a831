#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace lpa::test {

// Starts `bin` with the given LPA_* settings ("LPA_KEY=value") in place of any LPA_* variables
// of this process; the rest of the environment is inherited. Fails the test when it cannot.
pid_t spawn_with_settings(const std::string& bin, const std::vector<std::string>& settings);

// Waits for the child; returns its exit code, or 128 + signal when a signal ended it.
int wait_exit(pid_t pid);

// Exit code and standard output of a shell command.
struct command_result {
  int exit_code;
  std::string out;
};

// Runs `command` through the shell and waits for it.
command_result run(const std::string& command);

} // namespace lpa::test
