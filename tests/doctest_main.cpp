// One doctest runner per test binary, with a watchdog: a test case that
// runs past ACTORSTACK_TEST_WATCHDOG_S seconds (default 200, under ctest's
// 300 s timeout; 0: off) gets its name and every thread's stack printed
// (gdb, when installed), then the process ends (exit status 134). A hang then names
// itself and where it waits, where a ctest timeout says only "Timeout" —
// CI once saw a remote-apps test hang in its teardown, 1 run in 20+, and
// nothing more could be learnt from it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace {

class watchdog final : public doctest::IReporter {
 public:
  explicit watchdog(const doctest::ContextOptions&) {
    const char* env = std::getenv("ACTORSTACK_TEST_WATCHDOG_S");
    limit_ = std::chrono::seconds(env != nullptr ? std::atoi(env) : 200);
    if (limit_.count() > 0) thread_ = std::thread([this] { watch(); });
  }
  ~watchdog() override {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void test_case_start(const doctest::TestCaseData& tc) override {
    std::lock_guard lock(mutex_);
    name_ = tc.m_name;
    deadline_ = std::chrono::steady_clock::now() + limit_;
    armed_ = true;
    cv_.notify_all();
  }
  void test_case_end(const doctest::CurrentTestCaseStats&) override {
    std::lock_guard lock(mutex_);
    armed_ = false;
  }
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    while (!done_) {
      if (!armed_) {
        cv_.wait(lock);
        continue;
      }
      if (cv_.wait_until(lock, deadline_) == std::cv_status::no_timeout) continue;
      if (!armed_ || done_ || std::chrono::steady_clock::now() < deadline_) continue;
      std::fprintf(stderr, "\nwatchdog: test case \"%s\" still running after %lld s; every thread's stack:\n",
                   name_.c_str(), static_cast<long long>(limit_.count()));
      std::fflush(stderr);
      const std::string gdb = "gdb -p " + std::to_string(::getpid()) +
                              " -batch -nx -ex 'set pagination off' -ex 'thread apply all bt' 1>&2 2>/dev/null";
      if (std::system("command -v gdb >/dev/null 2>&1") != 0 || std::system(gdb.c_str()) != 0)
        std::fprintf(stderr, "watchdog: (no stacks: gdb is not installed or could not attach)\n");
      std::fprintf(stderr, "watchdog: ending the process\n");
      std::fflush(stderr);
      // Not abort(): doctest's SIGABRT handler would report the case
      // through this very listener, whose lock this thread holds.
      std::_Exit(134);
    }
  }

  std::chrono::seconds limit_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
  std::string name_;
  std::chrono::steady_clock::time_point deadline_{};
  bool armed_ = false;
  bool done_ = false;
};

}  // namespace

DOCTEST_REGISTER_LISTENER("watchdog", 1, watchdog);
