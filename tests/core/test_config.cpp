// The stack configuration (SPEC §8): defaults, every key, value syntax,
// clear errors for unknown keys and invalid values, the INI and
// command-line front ends, cross-field validation and the dump round trip.

#include <actorstack/config.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using namespace actorstack;

namespace {

// The error's full message ("bad_config: ..."), or "" for success.
template <class R>
std::string message_of(const R& r) {
  return r ? std::string{} : r.error().message();
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Sets one key on a default config and returns the error message ("" = ok).
std::string set_error(std::string_view key, std::string_view value) {
  stack_config c;
  auto r = set_config_value(c, key, value);
  if (!r) {
    CHECK(r.code() == errc::bad_config);
    CHECK(c == stack_config{});  // a failed set leaves the config alone
  }
  return message_of(r);
}

}  // namespace

TEST_CASE("config (SPEC 8): defaults match the spec") {
  const stack_config c;
  CHECK(c.workers == 0);
  CHECK(c.event_queue_length == 2048);
  CHECK(c.ctrl_queue_length == 0);
  CHECK(effective_ctrl_queue_length(c) == 1024);  // half of the event queue
  CHECK(c.event_queues_in_segment);
  CHECK(c.event_queue_segment_size == 0);
  CHECK(c.enable);
  CHECK(c.rx_fifo_size == 64 * 1024);
  CHECK(c.tx_fifo_size == 64 * 1024);
  CHECK(c.max_fifo_size == 4 * 1024 * 1024);
  CHECK(c.segment_size == 128ull * 1024 * 1024);
  CHECK(c.inspect_port == 0);
  CHECK(c.metrics_port == 0);
  CHECK(validate(c).has_value());
}

TEST_CASE("config (SPEC 8): every key can be set and read back") {
  const std::vector<std::string_view> expected{
      "session.workers",
      "session.event-queue-length",
      "session.ctrl-queue-length",
      "session.event-queues-in-segment",
      "session.event-queue-segment-size",
      "session.enable",
      "session.rx-fifo-size",
      "session.tx-fifo-size",
      "session.max-fifo-size",
      "session.segment-size",
      "inspect.port",
      "metrics.port",
  };
  CHECK(config_keys() == expected);

  stack_config c;
  REQUIRE(set_config_value(c, "session.workers", "3"));
  REQUIRE(set_config_value(c, "session.event-queue-length", "4096"));
  REQUIRE(set_config_value(c, "session.ctrl-queue-length", "512"));
  REQUIRE(set_config_value(c, "session.event-queues-in-segment", "false"));
  REQUIRE(set_config_value(c, "session.event-queue-segment-size", "8388608"));
  REQUIRE(set_config_value(c, "session.enable", "off"));
  REQUIRE(set_config_value(c, "session.rx-fifo-size", "131072"));
  REQUIRE(set_config_value(c, "session.tx-fifo-size", "32768"));
  REQUIRE(set_config_value(c, "session.max-fifo-size", "1048576"));
  REQUIRE(set_config_value(c, "session.segment-size", "268435456"));
  REQUIRE(set_config_value(c, "inspect.port", "9000"));
  REQUIRE(set_config_value(c, "metrics.port", " 9100 "));  // blanks are ignored
  CHECK(c.workers == 3);
  CHECK(c.event_queue_length == 4096);
  CHECK(c.ctrl_queue_length == 512);
  CHECK(effective_ctrl_queue_length(c) == 512);
  CHECK_FALSE(c.event_queues_in_segment);
  CHECK(c.event_queue_segment_size == 8388608);
  CHECK_FALSE(c.enable);
  CHECK(c.rx_fifo_size == 131072);
  CHECK(c.tx_fifo_size == 32768);
  CHECK(c.max_fifo_size == 1048576);
  CHECK(c.segment_size == 268435456);
  CHECK(c.inspect_port == 9000);
  CHECK(c.metrics_port == 9100);
  CHECK(validate(c).has_value());
}

TEST_CASE("config (SPEC 8): sizes take binary k/M/G suffixes") {
  stack_config c;
  REQUIRE(set_config_value(c, "session.rx-fifo-size", "64k"));
  CHECK(c.rx_fifo_size == 64 * 1024);
  REQUIRE(set_config_value(c, "session.tx-fifo-size", "8K"));
  CHECK(c.tx_fifo_size == 8 * 1024);
  REQUIRE(set_config_value(c, "session.max-fifo-size", "4M"));
  CHECK(c.max_fifo_size == 4u * 1024 * 1024);
  REQUIRE(set_config_value(c, "session.segment-size", "2g"));
  CHECK(c.segment_size == 2ull * 1024 * 1024 * 1024);
  REQUIRE(set_config_value(c, "session.segment-size", "3m"));
  CHECK(c.segment_size == 3ull * 1024 * 1024);
  REQUIRE(set_config_value(c, "session.event-queue-length", "1k"));  // lengths too
  CHECK(c.event_queue_length == 1024);
  REQUIRE(set_config_value(c, "session.event-queue-segment-size", "16G"));
  CHECK(c.event_queue_segment_size == 16ull << 30);
}

TEST_CASE("config (SPEC 8): booleans accept true/false, on/off, yes/no, 1/0") {
  for (std::string_view yes : {"true", "on", "yes", "1", "TRUE", "On"}) {
    stack_config c;
    c.enable = false;
    REQUIRE(set_config_value(c, "session.enable", yes));
    CHECK(c.enable);
  }
  for (std::string_view no : {"false", "off", "no", "0", "False", "NO"}) {
    stack_config c;
    REQUIRE(set_config_value(c, "session.enable", no));
    CHECK_FALSE(c.enable);
  }
}

TEST_CASE("config (SPEC 8): each kind of invalid value is bad_config naming the key") {
  SUBCASE("not a number") {
    auto m = set_error("session.workers", "four");
    CHECK(contains(m, "bad_config"));
    CHECK(contains(m, "session.workers: 'four' is not a number"));
    CHECK(contains(set_error("session.rx-fifo-size", "big"), "session.rx-fifo-size: 'big' is not a number"));
    CHECK(contains(set_error("session.workers", ""), "session.workers: '' is empty"));
    CHECK(contains(set_error("session.workers", "4k"), "session.workers: '4k' is not a number"));
  }
  SUBCASE("unknown suffix") {
    CHECK(contains(set_error("session.segment-size", "64x"),
                   "session.segment-size: '64x' has an unknown suffix 'x'"));
    CHECK(contains(set_error("session.segment-size", "64kb"), "unknown suffix 'kb'"));
  }
  SUBCASE("overflow") {
    CHECK(contains(set_error("session.segment-size", "99999999999999999999"),
                   "session.segment-size: '99999999999999999999' is too large"));
    CHECK(contains(set_error("session.segment-size", "17179869184G"),
                   "session.segment-size: '17179869184G' is too large"));
    // Fits uint64, not the field: the range check says why.
    CHECK(contains(set_error("session.rx-fifo-size", "2G"),
                   "session.rx-fifo-size: '2G' is above the maximum 2147483647"));
    CHECK(contains(set_error("inspect.port", "70000"),
                   "inspect.port: '70000' is above the maximum 65535 (ports are 16-bit)"));
    CHECK(contains(set_error("session.workers", "256"),
                   "session.workers: '256' is above the maximum 255"));
  }
  SUBCASE("negative") {
    CHECK(contains(set_error("session.workers", "-1"), "session.workers: '-1' is negative"));
    CHECK(contains(set_error("metrics.port", "-80"), "metrics.port: '-80' is negative"));
  }
  SUBCASE("not a power of two") {
    CHECK(contains(set_error("session.event-queue-length", "1000"),
                   "session.event-queue-length: '1000' is not a power of two"));
    CHECK(contains(set_error("session.ctrl-queue-length", "100"),
                   "session.ctrl-queue-length: '100' is not a power of two"));
  }
  SUBCASE("below the minimum") {
    CHECK(contains(set_error("session.event-queue-length", "8"),
                   "session.event-queue-length: '8' is below the minimum 16"));
    CHECK(contains(set_error("session.event-queue-length", "0"), "below the minimum 16"));
    CHECK(contains(set_error("session.rx-fifo-size", "1k"),
                   "session.rx-fifo-size: '1k' is below the minimum 4096"));
    CHECK(contains(set_error("session.segment-size", "512k"),
                   "session.segment-size: '512k' is below the minimum 1048576"));
    CHECK(contains(set_error("session.ctrl-queue-length", "8"), "(0 means default)"));
    CHECK(contains(set_error("session.event-queue-length", "2M"),
                   "session.event-queue-length: '2M' is above the maximum 1048576"));
  }
  SUBCASE("bad boolean") {
    CHECK(contains(set_error("session.enable", "maybe"),
                   "session.enable: 'maybe' is not a boolean"));
    CHECK(contains(set_error("session.event-queues-in-segment", "2"),
                   "session.event-queues-in-segment: '2' is not a boolean"));
  }
  SUBCASE("zero is the documented special value where there is one") {
    CHECK(set_error("session.workers", "0").empty());
    CHECK(set_error("session.ctrl-queue-length", "0").empty());
    CHECK(set_error("session.event-queue-segment-size", "0").empty());
    CHECK(set_error("inspect.port", "0").empty());
  }
}

TEST_CASE("config (SPEC 8): unknown key is a clear error with the closest key") {
  CHECK(contains(set_error("session.worker", "2"),
                 "bad_config: unknown key 'session.worker' (did you mean 'session.workers'?)"));
  CHECK(contains(set_error("sesison.enable", "1"), "(did you mean 'session.enable'?)"));
  // Letter case and '_' for '-' cost nothing in the distance.
  CHECK(contains(set_error("session.event_queue_length", "16"),
                 "(did you mean 'session.event-queue-length'?)"));
  // A bare name is matched against the name part of every key; ties list all.
  CHECK(contains(set_error("workers", "2"), "(did you mean 'session.workers'?)"));
  CHECK(contains(set_error("port", "1"), "(did you mean 'inspect.port' or 'metrics.port'?)"));
  // Nothing close: no misleading hint.
  const auto far = set_error("frobnicate.everything", "1");
  CHECK(contains(far, "unknown key 'frobnicate.everything'"));
  CHECK_FALSE(contains(far, "did you mean"));
}

TEST_CASE("config (SPEC 8): parse_config reads sections, comments and blank lines") {
  const auto r = parse_config(
      "# actorstack test config\n"
      "; another comment style\n"
      "\n"
      "metrics.port = 9100          # qualified, before any section\n"
      "[session]\n"
      "  workers = 2\n"
      "event-queue-length=4k ; trailing comment\n"
      "\r\n"
      "rx-fifo-size = 128k\r\n"
      "enable = no\n"
      "inspect.port = 9000          # qualified inside a section\n"
      "[ inspect ]\n"
      "\t\n"
      "[metrics]\n");
  REQUIRE_MESSAGE(r.has_value(), message_of(r));
  CHECK(r->workers == 2);
  CHECK(r->event_queue_length == 4096);
  CHECK(effective_ctrl_queue_length(*r) == 2048);
  CHECK(r->rx_fifo_size == 128 * 1024);
  CHECK_FALSE(r->enable);
  CHECK(r->inspect_port == 9000);
  CHECK(r->metrics_port == 9100);
  CHECK(r->tx_fifo_size == stack_config{}.tx_fifo_size);  // untouched keys keep defaults

  auto empty = parse_config("");
  REQUIRE(empty.has_value());
  CHECK(*empty == stack_config{});
  auto no_newline = parse_config("[session]\nworkers = 7");
  REQUIRE(no_newline.has_value());
  CHECK(no_newline->workers == 7);
}

TEST_CASE("config (SPEC 8): parse_config errors name the line") {
  auto check = [](std::string_view text, std::string_view expected) {
    auto r = parse_config(text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.code() == errc::bad_config);
    CHECK_MESSAGE(contains(r.error().message(), expected), r.error().message());
  };
  check("[session]\nworker = 4\n",
        "line 2: unknown key 'session.worker' (did you mean 'session.workers'?)");
  check("# c\n\n[session]\nevent-queue-length = 1000\n",
        "line 4: session.event-queue-length: '1000' is not a power of two");
  check("workers = 2\n", "line 1: unknown key 'workers' (did you mean 'session.workers'?)");
  check("[sesion]\n", "line 1: unknown section '[sesion]' (did you mean '[session]'?)");
  check("\n[session\n", "line 2: section header '[session' needs a closing ']'");
  check("[session]\nworkers 4\n", "line 2: expected 'name = value'");
  check("[session]\n = 4\n", "line 2: missing name before '='");
  check("[session]\nworkers = 2\n\nworkers = 3\n",
        "line 4: session.workers is already set on line 2");
  check("[session]\r\nenable = perhaps\r\n", "line 2: session.enable: 'perhaps' is not a boolean");
  // Cross-field rules run at the end and name the keys.
  check("[session]\nrx-fifo-size = 8M\n",
        "session.rx-fifo-size '8M' is larger than session.max-fifo-size '4M'");
}

TEST_CASE("config (SPEC 8): to_string reads back to an equal config") {
  CHECK(parse_config(to_string(stack_config{})).value() == stack_config{});

  stack_config c;
  c.workers = 5;
  c.event_queue_length = 1u << 20;
  c.ctrl_queue_length = 16;
  c.event_queues_in_segment = false;
  c.event_queue_segment_size = 12345;  // not a whole KiB: written in bytes
  c.enable = false;
  c.rx_fifo_size = 4096 + 1;
  c.tx_fifo_size = 3u * 1024 * 1024;
  c.max_fifo_size = 2147483647u;
  c.segment_size = 5ull << 30;
  c.inspect_port = 65535;
  c.metrics_port = 1;
  REQUIRE(validate(c).has_value());
  const std::string text = to_string(c);
  CHECK(contains(text, "[session]\n"));
  CHECK(contains(text, "tx-fifo-size = 3M\n"));
  CHECK(contains(text, "segment-size = 5G\n"));
  CHECK(contains(text, "event-queue-length = 1048576\n"));  // lengths stay plain
  CHECK(contains(text, "event-queue-segment-size = 12345\n"));
  CHECK(contains(text, "enable = false\n"));
  CHECK(contains(text, "[inspect]\nport = 65535\n"));
  auto back = parse_config(text);
  REQUIRE_MESSAGE(back.has_value(), message_of(back));
  CHECK(*back == c);
  // Every key appears exactly once.
  for (std::string_view key : config_keys()) {
    const auto name = std::string{key.substr(key.find('.') + 1)} + " = ";
    CHECK_MESSAGE(contains(text, "\n" + name), key);
  }
}

TEST_CASE("config (SPEC 8): config_from_args takes --key=value and --key value") {
  SUBCASE("both forms, later options override earlier ones") {
    const char* argv[] = {"demo", "--session.workers=2", "--session.rx-fifo-size", "256k",
                          "--inspect.port=9000", "--session.workers", "3", nullptr};
    auto r = config_from_args(7, argv);
    REQUIRE_MESSAGE(r.has_value(), message_of(r));
    CHECK(r->workers == 3);
    CHECK(r->rx_fifo_size == 256 * 1024);
    CHECK(r->inspect_port == 9000);
  }
  SUBCASE("a lone boolean flag means true") {
    const char* argv[] = {"demo", "--session.enable=off", "--session.event-queues-in-segment=no",
                          "--session.enable", "--session.workers=1"};
    auto r = config_from_args(5, argv);
    REQUIRE_MESSAGE(r.has_value(), message_of(r));
    CHECK(r->enable);
    CHECK_FALSE(r->event_queues_in_segment);
  }
  SUBCASE("no options: defaults") {
    const char* argv[] = {"demo"};
    auto r = config_from_args(1, argv);
    REQUIRE(r.has_value());
    CHECK(*r == stack_config{});
    CHECK(config_from_args(0, nullptr).has_value());
  }
  SUBCASE("errors name the argument") {
    auto error_of = [](std::vector<const char*> args) {
      args.insert(args.begin(), "demo");
      auto r = config_from_args(static_cast<int>(args.size()), args.data());
      REQUIRE_FALSE(r.has_value());
      CHECK(r.code() == errc::bad_config);
      return r.error().message();
    };
    CHECK(contains(error_of({"--session.workers=2", "extra"}),
                   "argument 2: 'extra' is not an option (options look like --section.name=value)"));
    CHECK(contains(error_of({"-w"}), "argument 1: '-w' is not an option"));
    CHECK(contains(error_of({"--"}), "argument 1: '--' is not an option"));
    CHECK(contains(error_of({"--session.worker=2"}),
                   "argument 1: unknown key 'session.worker' (did you mean 'session.workers'?)"));
    CHECK(contains(error_of({"--session.worker", "2"}), "argument 1: unknown key 'session.worker'"));
    CHECK(contains(error_of({"--session.workers"}),
                   "argument 1: option '--session.workers' needs a value"));
    CHECK(contains(error_of({"--session.workers", "--session.enable"}), "needs a value"));
    CHECK(contains(error_of({"--session.enable", "--session.workers", "x"}),
                   "argument 2: session.workers: 'x' is not a number"));
    CHECK(contains(error_of({"--session.workers", "-1"}), "session.workers: '-1' is negative"));
    CHECK(contains(error_of({"--session.max-fifo-size=32k"}),
                   "session.rx-fifo-size '64k' is larger than session.max-fifo-size '32k'"));
  }
}

TEST_CASE("config (SPEC 8): validate checks fields and the rules between them") {
  SUBCASE("fields set directly in code are range-checked") {
    stack_config c;
    c.event_queue_length = 1000;
    CHECK(contains(message_of(validate(c)),
                   "bad_config: session.event-queue-length: '1000' is not a power of two"));
    c = {};
    c.workers = 300;
    CHECK(contains(message_of(validate(c)), "session.workers: '300' is above the maximum 255"));
    c = {};
    c.rx_fifo_size = 100;
    CHECK(contains(message_of(validate(c)), "session.rx-fifo-size: '100' is below the minimum 4096"));
    c = {};
    c.segment_size = 0;
    CHECK(contains(message_of(validate(c)), "session.segment-size: '0' is below the minimum"));
  }
  SUBCASE("max-fifo-size must cover both fifo sizes") {
    stack_config c;
    c.tx_fifo_size = 8u << 20;
    CHECK(contains(message_of(validate(c)),
                   "session.tx-fifo-size '8M' is larger than session.max-fifo-size '4M'"));
    c.max_fifo_size = 8u << 20;
    CHECK(validate(c).has_value());
  }
  SUBCASE("a fifo and a fifo pair must fit one segment") {
    stack_config c;
    c.segment_size = 2u << 20;
    CHECK(contains(message_of(validate(c)),
                   "session.max-fifo-size '4M' is larger than session.segment-size '2M'"));
    c.max_fifo_size = 2u << 20;
    c.rx_fifo_size = 2u << 20;
    CHECK(contains(message_of(validate(c)), "do not fit in session.segment-size '2M'"));
    c.rx_fifo_size = 1u << 20;
    c.tx_fifo_size = 1u << 20;
    CHECK(validate(c).has_value());
  }
  SUBCASE("an explicit event-queue segment holds every worker's rings") {
    stack_config c;
    c.workers = 2;
    c.event_queue_segment_size = 64 * 1024;
    // 2 x (2048 x 16 + 1024 x 256) = 589824 bytes.
    CHECK(contains(message_of(validate(c)),
                   "session.event-queue-segment-size '64k' is smaller than the 589824 bytes"));
    c.event_queue_segment_size = 589824;
    CHECK(validate(c).has_value());
    c.event_queue_segment_size = 64 * 1024;
    c.event_queues_in_segment = false;  // unused in process memory
    CHECK(validate(c).has_value());
    c.event_queues_in_segment = true;
    c.workers = 0;  // machine-dependent: rechecked at start, not here
    CHECK(validate(c).has_value());
  }
}

TEST_CASE("config (SPEC 8): effective_workers resolves 0 to the CPU count") {
  stack_config c;
  const auto n = effective_workers(c);
  CHECK(n >= 1);
  CHECK(n <= stack_config::max_workers);
  c.workers = 4;
  CHECK(effective_workers(c) == 4);
  c.workers = 1000;  // invalid, but never more than a handle can name
  CHECK(effective_workers(c) == stack_config::max_workers);
}

TEST_CASE("config (SPEC 8): error details are interned, not dangling") {
  stack_config c;
  const char* first = set_config_value(c, "session.worker", "1").error().detail;
  const char* again = set_config_value(c, "session.worker", "1").error().detail;
  CHECK(first == again);  // one copy per distinct text, alive for the process
  CHECK(std::string{first} == "unknown key 'session.worker' (did you mean 'session.workers'?)");
}
