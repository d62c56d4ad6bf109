// The test runner's watchdog (tests/doctest_main.cpp). This case hangs
// only when ctest's "watchdog trips" test asks it to (the variable below),
// with a one-second limit: that test then expects the case's name and the
// threads' stacks on stderr, and an abort instead of a silent timeout.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

TEST_CASE("watchdog: a test case that hangs is named, its threads' stacks printed, and the process ends") {
  if (std::getenv("ACTORSTACK_TEST_WATCHDOG_TRIP") == nullptr) {
    MESSAGE("runs only under ctest's \"watchdog trips\" test");
    return;
  }
  std::thread helper([] { std::this_thread::sleep_for(std::chrono::hours(1)); });  // a second stack to show
  std::this_thread::sleep_for(std::chrono::hours(1));
  helper.join();
}
