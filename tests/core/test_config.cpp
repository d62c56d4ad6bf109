// The stack configuration (SPEC §8): defaults, every key, value syntax,
// clear errors for unknown keys and invalid values, the INI and
// command-line front ends, cross-field validation and the dump round trip.

#include <actorstack/config.hpp>

#include "base/size.hpp"

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
      "session.rx-fifo-size",
      "session.tx-fifo-size",
      "session.max-fifo-size",
      "session.segment-size",
      "dataplane.port",
      "dataplane.ip",
      "dataplane.gateway",
      "dataplane.cores",
      "dataplane.poll-mode",
      "dataplane.threads",
      "dataplane.mbufs",
      "dataplane.lcores",
      "dataplane.impair",
      "tcp.mss",
      "tcp.initial-window",
      "tcp.rto-min-ms",
      "tcp.rto-initial-ms",
      "tcp.rto-max-ms",
      "tcp.syn-retries",
      "tcp.data-retries",
      "tcp.delayed-ack-ms",
      "tcp.fin-wait-2-s",
      "tcp.time-wait-s",
      "tcp.backlog",
      "tcp.nagle",
      "tcp.window-scaling",
      "tcp.timestamps",
      "tcp.sack",
      "tcp.ephemeral-ports",
      "tcp.congestion",
      "inspect.port",
      "inspect.bind",
      "metrics.port",
      "tls.certificate",
      "tls.key",
      "tls.ca",
      "quota.listeners",
      "quota.attach-per-uid",
      "quota.sessions",
      "quota.pending-connects",
      "quota.segment-bytes",
  };
  CHECK(config_keys() == expected);

  stack_config c;
  REQUIRE(set_config_value(c, "session.workers", "3"));
  REQUIRE(set_config_value(c, "session.event-queue-length", "4096"));
  REQUIRE(set_config_value(c, "session.ctrl-queue-length", "512"));
  REQUIRE(set_config_value(c, "session.rx-fifo-size", "131072"));
  REQUIRE(set_config_value(c, "session.tx-fifo-size", "32768"));
  REQUIRE(set_config_value(c, "session.max-fifo-size", "1048576"));
  REQUIRE(set_config_value(c, "session.segment-size", "268435456"));
  REQUIRE(set_config_value(c, "dataplane.port", "net_tap0,iface=as0"));
  REQUIRE(set_config_value(c, "dataplane.ip", "10.0.0.2/24"));
  REQUIRE(set_config_value(c, "dataplane.gateway", "10.0.0.1"));
  REQUIRE(set_config_value(c, "dataplane.cores", "2"));
  REQUIRE(set_config_value(c, "dataplane.poll-mode", "busy"));
  REQUIRE(set_config_value(c, "dataplane.threads", "own"));
  REQUIRE(set_config_value(c, "dataplane.mbufs", "16383"));
  REQUIRE(set_config_value(c, "dataplane.lcores", "0@1,1@2"));
  REQUIRE(set_config_value(c, "inspect.port", "9000"));
  REQUIRE(set_config_value(c, "metrics.port", " 9100 "));  // blanks are ignored
  CHECK(c.workers == 3);
  CHECK(c.event_queue_length == 4096);
  CHECK(c.ctrl_queue_length == 512);
  CHECK(effective_ctrl_queue_length(c) == 512);
  CHECK(c.rx_fifo_size == 131072);
  CHECK(c.tx_fifo_size == 32768);
  CHECK(c.max_fifo_size == 1048576);
  CHECK(c.segment_size == 268435456);
  CHECK(c.dataplane_port == "net_tap0,iface=as0");
  CHECK(c.dataplane_ip == "10.0.0.2/24");
  CHECK(c.dataplane_gateway == "10.0.0.1");
  CHECK(c.dataplane_cores == 2);
  CHECK(c.dataplane_poll_mode == "busy");
  CHECK(c.dataplane_threads == "own");
  CHECK(c.dataplane_mbufs == 16383);
  CHECK(c.dataplane_lcores == "0@1,1@2");
  CHECK(c.inspect_port == 9000);
  CHECK(c.metrics_port == 9100);
  CHECK(validate(c).has_value());
}

TEST_CASE("sizes: one grammar for the config and every binary's size options, each refusal with its reason") {
  struct row {
    const char* text;
    std::uint64_t bytes;
  };
  for (const row& r : {row{"0", 0}, row{"4096", 4096}, row{"64k", 64 << 10}, row{"64K", 64 << 10},
                       row{"64KB", 64 << 10}, row{"64KiB", 64 << 10}, row{"1mib", 1 << 20}, row{"2G", 2ull << 30},
                       row{"1T", 1ull << 40}, row{"7b", 7}, row{"15E", 0}}) {
    CAPTURE(r.text);
    auto v = parse_size(r.text);
    if (std::string_view{r.text} == "15E") {
      CHECK_FALSE(v);  // no exabytes
      continue;
    }
    REQUIRE(v);
    CHECK(*v == r.bytes);
    CHECK(parse_size(format_size(*v)).value() == *v);  // written back, read again
  }
  CHECK(format_size(64 << 10) == "64K");
  CHECK(format_size(3ull << 40) == "3T");
  CHECK(format_size(1000) == "1000");
  CHECK(std::string_view{parse_size("").error().detail} == "is empty");
  CHECK(std::string_view{parse_size("-4K").error().detail} == "is negative");
  CHECK(std::string_view{parse_size("K").error().detail}.starts_with("is not a number"));
  CHECK(std::string_view{parse_size("16777216T").error().detail} == "is too large");
  CHECK(std::string_view{parse_size("18446744073709551616").error().detail} == "is too large");
  CHECK(std::string_view{parse_size("4Q").error().detail}.starts_with("has an unknown suffix 'Q'"));
  // The config reads the same spellings.
  stack_config c;
  REQUIRE(set_config_value(c, "session.segment-size", "1GiB"));
  CHECK(c.segment_size == 1ull << 30);
  REQUIRE(set_config_value(c, "session.segment-size", "1T"));
  CHECK(c.segment_size == 1ull << 40);
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
    CHECK(contains(set_error("session.segment-size", "64kk"), "unknown suffix 'kk'"));
    CHECK(contains(set_error("session.segment-size", "64 M"), "unknown suffix ' M'"));
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
  SUBCASE("zero is the documented special value where there is one") {
    CHECK(set_error("session.workers", "0").empty());
    CHECK(set_error("session.ctrl-queue-length", "0").empty());
    CHECK(set_error("inspect.port", "0").empty());
  }
}

TEST_CASE("config (SPEC 8): unknown key is a clear error with the closest key") {
  CHECK(contains(set_error("session.worker", "2"),
                 "bad_config: unknown key 'session.worker' (did you mean 'session.workers'?)"));
  CHECK(contains(set_error("sesison.workers", "1"), "(did you mean 'session.workers'?)"));
  // Letter case and '_' for '-' cost nothing in the distance.
  CHECK(contains(set_error("session.event_queue_length", "16"),
                 "(did you mean 'session.event-queue-length'?)"));
  // A bare name is matched against the name part of every key; ties list all.
  CHECK(contains(set_error("workers", "2"), "(did you mean 'session.workers'?)"));
  CHECK(contains(set_error("port", "1"),
                 "(did you mean 'dataplane.port', 'inspect.port' or 'metrics.port'?)"));
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
      "inspect.port = 9000          # qualified inside a section\n"
      "[ inspect ]\n"
      "\t\n"
      "[metrics]\n");
  REQUIRE_MESSAGE(r.has_value(), message_of(r));
  CHECK(r->workers == 2);
  CHECK(r->event_queue_length == 4096);
  CHECK(effective_ctrl_queue_length(*r) == 2048);
  CHECK(r->rx_fifo_size == 128 * 1024);
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
  check("[session]\r\nworkers = many\r\n", "line 2: session.workers: 'many' is not a number");
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
  c.rx_fifo_size = 4096 + 1;  // not a whole KiB: written in bytes
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
  CHECK(contains(text, "rx-fifo-size = 4097\n"));
  CHECK(contains(text, "[inspect]\nport = 65535\n"));
  auto back = parse_config(text);
  REQUIRE_MESSAGE(back.has_value(), message_of(back));
  CHECK(*back == c);
  // Every key appears exactly once, under its own section ("name =" for an
  // empty text value, "name = value" otherwise).
  for (std::string_view key : config_keys()) {
    const auto header = "\n[" + std::string{key.substr(0, key.find('.'))} + "]\n";
    const auto begin = text.find(header);
    REQUIRE_MESSAGE(begin != std::string::npos, key);
    const auto body = text.substr(begin + header.size(), text.find("\n[", begin + 1) - begin - header.size());
    const auto line = "\n" + std::string{key.substr(key.find('.') + 1)} + " =";
    const auto at = ("\n" + body).find(line);
    CHECK_MESSAGE(at != std::string::npos, key);
    CHECK_MESSAGE(("\n" + body).find(line, at + 1) == std::string::npos, key);
  }
}

TEST_CASE("config: the inspector binds beyond loopback only with TLS, and the tls files go together") {
  stack_config c;
  CHECK(validate(c).has_value());  // 127.0.0.1, no TLS
  c.inspect_bind = "127.0.0.2";
  CHECK(validate(c).has_value());  // any loopback address
  c.inspect_bind = "10.0.0.1";
  auto v = validate(c);
  REQUIRE_FALSE(v);
  CHECK(message_of(v).find("needs tls.certificate, tls.key and tls.ca") != std::string::npos);
  c.tls_certificate = "a.pem";
  v = validate(c);
  REQUIRE_FALSE(v);
  CHECK(message_of(v).find("go together") != std::string::npos);
  c.tls_key = "a.key";
  c.tls_ca = "ca.pem";
  CHECK(validate(c).has_value());
  CHECK(set_config_value(c, "inspect.bind", "::1").code() == errc::bad_config);
  CHECK(set_config_value(c, "inspect.bind", "localhost").code() == errc::bad_config);
  REQUIRE(set_config_value(c, "inspect.bind", "0.0.0.0"));
  CHECK(parse_config(to_string(c)).value() == c);
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
    CHECK(contains(error_of({"--session.workers", "--inspect.port"}), "needs a value"));
    CHECK(contains(error_of({"--inspect.port=1", "--session.workers", "x"}),
                   "argument 2: session.workers: 'x' is not a number"));
    CHECK(contains(error_of({"--session.workers", "-1"}), "session.workers: '-1' is negative"));
    CHECK(contains(error_of({"--session.max-fifo-size=32k"}),
                   "session.rx-fifo-size '64K' is larger than session.max-fifo-size '32K'"));
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

TEST_CASE("config: dataplane defaults") {
  const stack_config c;
  CHECK(c.dataplane_port.empty());  // no data plane: cut-through sessions only
  CHECK(c.dataplane_ip.empty());
  CHECK(c.dataplane_gateway.empty());
  CHECK(c.dataplane_cores == 1);
  CHECK(c.dataplane_poll_mode == "adaptive");
  CHECK(c.dataplane_threads == "shared");
  CHECK(c.dataplane_mbufs == 8191);
  CHECK(c.dataplane_lcores.empty());
  CHECK(validate(c).has_value());
  // The section sits between [session] and [inspect]; empty text values are
  // written "name =" with no trailing blank.
  const std::string text = to_string(c);
  CHECK(contains(text,
                 "segment-size = 128M\n"
                 "\n[dataplane]\n"
                 "port =\n"
                 "ip =\n"
                 "gateway =\n"
                 "cores = 1\n"
                 "poll-mode = adaptive\n"
                 "threads = shared\n"
                 "mbufs = 8191\n"
                 "lcores =\n"
                 "impair =\n"
                 "\n[tcp]\n"));
}

TEST_CASE("TCP 9.3 config: the [tcp] keys have the RFCs' defaults, take their values and refuse bad ones by name") {
  const stack_config d;
  CHECK(d.tcp_mss == 1460);
  CHECK(d.tcp_initial_window == 10);
  CHECK(d.tcp_rto_min_ms == 200);
  CHECK(d.tcp_rto_initial_ms == 1000);
  CHECK(d.tcp_rto_max_ms == 60000);
  CHECK(d.tcp_time_wait_s == 60);
  CHECK(d.tcp_ephemeral_ports == "49152-65535");
  CHECK(d.tcp_congestion == "newreno");
  CHECK(contains(to_string(d), "[tcp]\nmss = 1460\ninitial-window = 10\n"));

  auto parsed = parse_config("[tcp]\nmss = 1400\nrto-min-ms = 50\nsack = 0\ntimestamps = 0\n"
                             "ephemeral-ports = 32768-60999\ntime-wait-s = 5\nbacklog = 16\nnagle = 0\n");
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error().message());
  CHECK(parsed->tcp_mss == 1400);
  CHECK(parsed->tcp_rto_min_ms == 50);
  CHECK(parsed->tcp_sack == 0);
  CHECK(parsed->tcp_timestamps == 0);
  CHECK(parsed->tcp_ephemeral_ports == "32768-60999");
  CHECK(parsed->tcp_time_wait_s == 5);
  CHECK(parsed->tcp_backlog == 16);
  CHECK(parsed->tcp_nagle == 0);
  CHECK(parse_config(to_string(*parsed)).value() == *parsed);  // the dump reads back

  const std::pair<const char*, const char*> bad[] = {
      {"tcp.mss", "535"},          {"tcp.mss", "9001"},          {"tcp.initial-window", "0"},
      {"tcp.rto-min-ms", "0"},     {"tcp.syn-retries", "33"},    {"tcp.delayed-ack-ms", "501"},
      {"tcp.time-wait-s", "0"},    {"tcp.backlog", "65536"},     {"tcp.sack", "2"},
      {"tcp.nagle", "on"},         {"tcp.ephemeral-ports", "80-1000"},
      {"tcp.ephemeral-ports", "60000-50000"}, {"tcp.ephemeral-ports", "50000-50010"},
      {"tcp.ephemeral-ports", "50000"},       {"tcp.congestion", "cubic"},
  };
  for (const auto& [key, value] : bad) {
    stack_config c;
    auto r = set_config_value(c, key, value);
    REQUIRE_MESSAGE(!r.has_value(), key << " = " << value);
    CHECK(r.error().code == errc::bad_config);
    CHECK_MESSAGE(contains(r.error().message(), key), r.error().message());
    CHECK(c == stack_config{});  // unchanged
  }
  // Between keys: the RTO's bounds must be in order.
  stack_config c;
  c.tcp_rto_min_ms = 2000;  // above the initial 1000
  auto v = validate(c);
  REQUIRE_FALSE(v.has_value());
  CHECK(contains(v.error().message(), "tcp.rto-min-ms"));
  CHECK(parse_port_range("1024-65535") == std::pair<std::uint16_t, std::uint16_t>{1024, 65535});
  CHECK_FALSE(parse_port_range("1024 - 65535"));
  CHECK_FALSE(parse_port_range("0-100"));
}

TEST_CASE("config: dataplane keys via set_config_value") {
  stack_config c;
  REQUIRE(set_config_value(c, "dataplane.port", "  net_tap0,iface=as0\t"));  // blanks trimmed
  CHECK(c.dataplane_port == "net_tap0,iface=as0");
  REQUIRE(set_config_value(c, "dataplane.ip", "192.168.1.254/32"));
  CHECK(c.dataplane_ip == "192.168.1.254/32");
  REQUIRE(set_config_value(c, "dataplane.ip", "10.0.0.2/1"));
  CHECK(c.dataplane_ip == "10.0.0.2/1");
  REQUIRE(set_config_value(c, "dataplane.gateway", "10.0.0.1"));
  CHECK(c.dataplane_gateway == "10.0.0.1");
  REQUIRE(set_config_value(c, "dataplane.cores", "64"));
  CHECK(c.dataplane_cores == 64);
  REQUIRE(set_config_value(c, "dataplane.poll-mode", "busy"));
  CHECK(c.dataplane_poll_mode == "busy");
  REQUIRE(set_config_value(c, "dataplane.mbufs", "1023"));
  CHECK(c.dataplane_mbufs == 1023);
  REQUIRE(set_config_value(c, "dataplane.mbufs", "1048575"));
  CHECK(c.dataplane_mbufs == 1048575);
  REQUIRE(set_config_value(c, "dataplane.lcores", "(0-1)@(2,3),2@4"));
  CHECK(c.dataplane_lcores == "(0-1)@(2,3),2@4");
  CHECK(validate(c).has_value());
  // Empty clears the optional text keys again.
  for (std::string_view key : {"dataplane.port", "dataplane.ip", "dataplane.gateway", "dataplane.lcores"})
    REQUIRE_MESSAGE(set_config_value(c, key, ""), key);
  CHECK(c.dataplane_port.empty());
  CHECK(c.dataplane_ip.empty());
  CHECK(c.dataplane_gateway.empty());
  CHECK(c.dataplane_lcores.empty());
  CHECK(validate(c).has_value());
}

TEST_CASE("config: dataplane keys via parse_config") {
  const auto r = parse_config(
      "dataplane.mbufs = 65535     # qualified, before any section\n"
      "[dataplane]\n"
      "port = net_memif0,role=server,socket=/run/as#1;x.sock   # '#', ';' inside a value\n"
      "ip=10.0.0.2/24 ;comment after a blank\n"
      "gateway = 10.0.0.1\t# a tab before the comment\n"
      "cores = 4\n"
      "poll-mode = busy\n"
      "[session]\n"
      "dataplane.lcores = 0@(0,1),(1-4)@(2-5)  # qualified inside another section\n");
  REQUIRE_MESSAGE(r.has_value(), message_of(r));
  CHECK(r->dataplane_port == "net_memif0,role=server,socket=/run/as#1;x.sock");
  CHECK(r->dataplane_ip == "10.0.0.2/24");
  CHECK(r->dataplane_gateway == "10.0.0.1");
  CHECK(r->dataplane_cores == 4);
  CHECK(r->dataplane_poll_mode == "busy");
  CHECK(r->dataplane_mbufs == 65535);
  CHECK(r->dataplane_lcores == "0@(0,1),(1-4)@(2-5)");
  CHECK(r->workers == stack_config{}.workers);  // untouched keys keep defaults

  // An empty value (with or without a comment) is the empty string.
  const auto empty = parse_config("[dataplane]\nport =\nlcores = # none\ngateway=\nip = ;\n");
  REQUIRE_MESSAGE(empty.has_value(), message_of(empty));
  CHECK(*empty == stack_config{});

  // A section line and a qualified line name the same key.
  const auto twice = parse_config(
      "dataplane.ip = 10.0.0.2/24\n[dataplane]\nip = 10.0.0.3/24\n");
  REQUIRE_FALSE(twice.has_value());
  CHECK(contains(twice.error().message(), "line 3: dataplane.ip is already set on line 1"));
}

TEST_CASE("config: dataplane keys via config_from_args") {
  SUBCASE("--key=value splits at the first '=' only") {
    const char* argv[] = {"demo",
                          "--dataplane.port=net_tap0,iface=as0",
                          "--dataplane.ip",
                          "10.0.0.2/24",
                          "--dataplane.gateway=10.0.0.1",
                          "--dataplane.cores",
                          "3",
                          "--dataplane.poll-mode=busy",
                          "--dataplane.mbufs=4095",
                          "--dataplane.lcores=(0-1)@2,2@(3,4)"};
    auto r = config_from_args(10, argv);
    REQUIRE_MESSAGE(r.has_value(), message_of(r));
    CHECK(r->dataplane_port == "net_tap0,iface=as0");
    CHECK(r->dataplane_ip == "10.0.0.2/24");
    CHECK(r->dataplane_gateway == "10.0.0.1");
    CHECK(r->dataplane_cores == 3);
    CHECK(r->dataplane_poll_mode == "busy");
    CHECK(r->dataplane_mbufs == 4095);
    CHECK(r->dataplane_lcores == "(0-1)@2,2@(3,4)");
  }
  SUBCASE("the separate form keeps '=' in the value, '--key=' is empty") {
    const char* argv[] = {"demo", "--dataplane.port", "net_memif0,role=client,socket=/run/a.sock",
                          "--dataplane.ip=10.0.0.2/24", "--dataplane.lcores="};
    auto r = config_from_args(5, argv);
    REQUIRE_MESSAGE(r.has_value(), message_of(r));
    CHECK(r->dataplane_port == "net_memif0,role=client,socket=/run/a.sock");
    CHECK(r->dataplane_lcores.empty());
  }
  SUBCASE("errors name the argument and the key") {
    auto error_of = [](std::vector<const char*> args) {
      args.insert(args.begin(), "demo");
      auto r = config_from_args(static_cast<int>(args.size()), args.data());
      REQUIRE_FALSE(r.has_value());
      CHECK(r.code() == errc::bad_config);
      return r.error().message();
    };
    CHECK(contains(error_of({"--dataplane.port"}),
                   "argument 1: option '--dataplane.port' needs a value"));  // not a boolean
    CHECK(contains(error_of({"--dataplane.ip=10.0.0.2", "--dataplane.port=net_tap0"}),
                   "argument 1: dataplane.ip: '10.0.0.2' has no prefix length"));
    CHECK(contains(error_of({"--dataplane.port=net_tap0,iface=as0"}),
                   "dataplane.port is set but dataplane.ip is empty"));
    CHECK(contains(error_of({"--dataplane.prot=net_tap0"}),
                   "argument 1: unknown key 'dataplane.prot' (did you mean 'dataplane.port'?)"));
  }
}

TEST_CASE("config: dataplane invalid values are bad_config naming the key") {
  SUBCASE("dataplane.ip") {
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2"),
                   "bad_config: dataplane.ip: '10.0.0.2' has no prefix length"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0/24"),
                   "dataplane.ip: '10.0.0/24' has a bad IPv4 address '10.0.0'"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.256/24"), "has a bad IPv4 address '10.0.0.256'"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2.1/24"), "has a bad IPv4 address"));
    CHECK(contains(set_error("dataplane.ip", "010.0.0.2/24"), "has a bad IPv4 address"));
    CHECK(contains(set_error("dataplane.ip", "10..0.2/24"), "has a bad IPv4 address"));
    CHECK(contains(set_error("dataplane.ip", "a.b.c.d/24"), "has a bad IPv4 address"));
    CHECK(contains(set_error("dataplane.ip", "/24"), "dataplane.ip: '/24' has a bad IPv4 address ''"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2/33"),
                   "dataplane.ip: '10.0.0.2/33' has prefix length 33, outside 1..32"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2/0"), "has prefix length 0, outside 1..32"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2/"),
                   "dataplane.ip: '10.0.0.2/' has a bad prefix length '' (use 1..32)"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2/2x"), "has a bad prefix length '2x'"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2/-8"), "has a bad prefix length '-8'"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2/024"), "has a bad prefix length '024'"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2/99999999999"), "has a bad prefix length"));
    CHECK(contains(set_error("dataplane.ip", "fd00::2/64"),
                   "dataplane.ip: 'fd00::2/64' is IPv6, which is not supported yet"));
    CHECK(contains(set_error("dataplane.ip", "10.0.0.2 /24"),
                   "dataplane.ip: '10.0.0.2 /24' contains whitespace"));
  }
  SUBCASE("dataplane.gateway") {
    CHECK(contains(set_error("dataplane.gateway", "10.0.0"),
                   "dataplane.gateway: '10.0.0' is not an IPv4 address"));
    CHECK(contains(set_error("dataplane.gateway", "10.0.0.1/24"),
                   "dataplane.gateway: '10.0.0.1/24' is not an IPv4 address (a gateway has no prefix length)"));
    CHECK(contains(set_error("dataplane.gateway", "gw.example"), "is not an IPv4 address"));
    CHECK(contains(set_error("dataplane.gateway", "fe80::1"),
                   "dataplane.gateway: 'fe80::1' is IPv6, which is not supported yet"));
  }
  SUBCASE("dataplane.poll-mode") {
    CHECK(contains(set_error("dataplane.poll-mode", "spin"),
                   "dataplane.poll-mode: 'spin' is not a poll mode (use adaptive or busy, in lower case)"));
    CHECK(contains(set_error("dataplane.poll-mode", "Busy"), "'Busy' is not a poll mode"));
    CHECK(contains(set_error("dataplane.poll-mode", ""), "dataplane.poll-mode: '' is not a poll mode"));
  }
  SUBCASE("dataplane.threads") {
    CHECK(contains(set_error("dataplane.threads", "lcores"),
                   "dataplane.threads: 'lcores' is not a thread placement (use shared or own, in lower case)"));
    CHECK(contains(set_error("dataplane.threads", "Shared"), "'Shared' is not a thread placement"));
    CHECK(contains(set_error("dataplane.threads", ""), "dataplane.threads: '' is not a thread placement"));
  }
  SUBCASE("dataplane.cores and dataplane.mbufs") {
    CHECK(contains(set_error("dataplane.cores", "0"),
                   "dataplane.cores: '0' is below the minimum 1"));
    CHECK(contains(set_error("dataplane.cores", "65"),
                   "dataplane.cores: '65' is above the maximum 64"));
    CHECK(contains(set_error("dataplane.cores", "2k"), "dataplane.cores: '2k' is not a number"));
    CHECK(contains(set_error("dataplane.cores", ""), "dataplane.cores: '' is empty"));
    CHECK(contains(set_error("dataplane.mbufs", "1022"),
                   "dataplane.mbufs: '1022' is below the minimum 1023"));
    CHECK(contains(set_error("dataplane.mbufs", "1048576"),
                   "dataplane.mbufs: '1048576' is above the maximum 1048575"));
    CHECK(contains(set_error("dataplane.mbufs", "-1"), "dataplane.mbufs: '-1' is negative"));
  }
  SUBCASE("dataplane.port and dataplane.lcores") {
    CHECK(contains(set_error("dataplane.port", "net_memif0,socket=/tmp/a b.sock"),
                   "dataplane.port: 'net_memif0,socket=/tmp/a b.sock' contains whitespace"));
    CHECK(contains(set_error("dataplane.port", "net_tap0,\tiface=as0"), "contains whitespace"));
    // Control characters are shown escaped, and a NUL does not cut the text.
    CHECK(contains(set_error("dataplane.port", "net_tap0\n"),
                   "dataplane.port: 'net_tap0\\x0a' contains whitespace"));
    CHECK(contains(set_error("dataplane.port", std::string_view{"net\0tap", 7}),
                   "dataplane.port: 'net\\x00tap' contains a control character"));
    CHECK(contains(set_error("dataplane.port", "#net_tap0"),
                   "dataplane.port: '#net_tap0' starts with '#', which INI text reads as a comment"));
    CHECK(contains(set_error("dataplane.port", ";x"), "starts with ';'"));
    CHECK(contains(set_error("dataplane.lcores", "0@1;2"),
                   "dataplane.lcores: '0@1;2' has ';', which an EAL --lcores value does not use"));
    CHECK(contains(set_error("dataplane.lcores", "0 @1"), "dataplane.lcores: '0 @1' contains whitespace"));
  }
  SUBCASE("in INI text the error names the line too") {
    auto r = parse_config("[dataplane]\n\nip = 10.0.0.2/40 # typo\n");
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message(), "line 3: dataplane.ip: '10.0.0.2/40' has prefix length 40"));
    r = parse_config("[dataplane]\nport = net_memif0,socket=/tmp/a b.sock\n");
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message(), "line 2: dataplane.port: 'net_memif0,socket=/tmp/a b.sock' contains whitespace"));
    // '#' right after a value is part of it, so a number with one is refused
    // loudly rather than half-read.
    r = parse_config("[dataplane]\ncores = 2#4\n");
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message(), "line 2: dataplane.cores: '2#4' is not a number"));
  }
  SUBCASE("fields set in code are checked by validate") {
    stack_config c;
    c.dataplane_ip = "10.0.0.2";
    CHECK(contains(message_of(validate(c)), "bad_config: dataplane.ip: '10.0.0.2' has no prefix length"));
    c = {};
    c.dataplane_port = " net_tap0";  // would not survive the INI round trip
    CHECK(contains(message_of(validate(c)), "dataplane.port: ' net_tap0' contains whitespace"));
    c = {};
    c.dataplane_poll_mode = "";
    CHECK(contains(message_of(validate(c)), "dataplane.poll-mode: '' is not a poll mode"));
    c = {};
    c.dataplane_cores = 0;
    CHECK(contains(message_of(validate(c)), "dataplane.cores: '0' is below the minimum 1"));
    c = {};
    c.dataplane_mbufs = 2u << 20;
    CHECK(contains(message_of(validate(c)), "dataplane.mbufs: '2097152' is above the maximum 1048575"));
    c = {};
    c.dataplane_gateway = "::1";
    CHECK(contains(message_of(validate(c)), "dataplane.gateway: '::1' is IPv6"));
    c = {};
    c.dataplane_lcores = "0-1@x";
    CHECK(contains(message_of(validate(c)), "dataplane.lcores: '0-1@x' has 'x'"));
  }
}

TEST_CASE("config: dataplane cross-field rules") {
  SUBCASE("a port needs an address") {
    stack_config c;
    c.dataplane_port = "net_tap0,iface=as0";
    CHECK(contains(message_of(validate(c)), "bad_config: dataplane.port is set but dataplane.ip is empty"));
    c.dataplane_ip = "10.0.0.2/24";
    CHECK(validate(c).has_value());
    c.dataplane_port.clear();  // an address without a port is harmless
    CHECK(validate(c).has_value());
  }
  SUBCASE("the gateway is on the port's prefix") {
    stack_config c;
    c.dataplane_port = "net_tap0";
    c.dataplane_ip = "10.0.0.2/24";
    c.dataplane_gateway = "10.1.0.1";
    CHECK(contains(message_of(validate(c)),
                   "bad_config: dataplane.gateway: gateway 10.1.0.1 is not on 10.0.0.0/24, "
                   "the prefix of dataplane.ip '10.0.0.2/24'"));
    c.dataplane_gateway = "10.0.1.1";  // one bit past the prefix
    CHECK(contains(message_of(validate(c)), "gateway 10.0.1.1 is not on 10.0.0.0/24"));
    c.dataplane_gateway = "10.0.0.254";
    CHECK(validate(c).has_value());
    c.dataplane_ip = "10.0.0.2/23";
    c.dataplane_gateway = "10.0.1.1";
    CHECK(validate(c).has_value());
    c.dataplane_ip = "10.0.0.2/8";
    c.dataplane_gateway = "10.200.3.4";
    CHECK(validate(c).has_value());
    c.dataplane_ip = "10.0.0.2/32";  // nothing else is on a /32
    c.dataplane_gateway = "10.0.0.3";
    CHECK(contains(message_of(validate(c)), "gateway 10.0.0.3 is not on 10.0.0.2/32"));
    c.dataplane_ip = "10.0.0.2/1";
    c.dataplane_gateway = "200.0.0.1";
    CHECK(contains(message_of(validate(c)), "gateway 200.0.0.1 is not on 0.0.0.0/1"));
  }
  SUBCASE("the gateway is not the port's own address") {
    stack_config c;
    c.dataplane_ip = "10.0.0.2/24";
    c.dataplane_gateway = "10.0.0.2";
    CHECK(contains(message_of(validate(c)),
                   "dataplane.gateway: gateway 10.0.0.2 is the port's own address"));
  }
  SUBCASE("a gateway needs an address to be checked against") {
    stack_config c;
    c.dataplane_gateway = "10.0.0.1";
    CHECK(contains(message_of(validate(c)), "dataplane.gateway is set but dataplane.ip is empty"));
  }
  SUBCASE("parse_config runs them at the end") {
    auto r = parse_config("[dataplane]\nport = net_tap0,iface=as0\n");
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message(), "dataplane.port is set but dataplane.ip is empty"));
    r = parse_config("[dataplane]\nip = 10.0.0.2/24\ngateway = 10.1.0.1\n");
    REQUIRE_FALSE(r.has_value());
    CHECK(contains(r.error().message(), "gateway 10.1.0.1 is not on 10.0.0.0/24"));
  }
}

TEST_CASE("config: dataplane round trip through to_string") {
  stack_config c;
  // No blanks (refused), but commas, '=', '/', '#', ';' and ':' inside.
  c.dataplane_port = "net_memif0,role=server,socket=/tmp/a#b;c:d.sock,id=0";
  c.dataplane_ip = "172.31.255.254/12";
  c.dataplane_gateway = "172.16.0.1";
  c.dataplane_cores = 64;
  c.dataplane_poll_mode = "busy";
  c.dataplane_mbufs = 1048575;
  c.dataplane_lcores = "(0-1)@(2,3),2@4";
  REQUIRE_MESSAGE(validate(c).has_value(), message_of(validate(c)));
  std::string text = to_string(c);
  CHECK(contains(text, "\n[dataplane]\nport = net_memif0,role=server,socket=/tmp/a#b;c:d.sock,id=0\n"));
  CHECK(contains(text, "\nip = 172.31.255.254/12\n"));
  CHECK(contains(text, "\nlcores = (0-1)@(2,3),2@4\n"));
  auto back = parse_config(text);
  REQUIRE_MESSAGE(back.has_value(), message_of(back));
  CHECK(*back == c);

  // Empty strings next to set ones, and the other poll mode.
  c.dataplane_port.clear();
  c.dataplane_gateway.clear();
  c.dataplane_lcores.clear();
  c.dataplane_poll_mode = "adaptive";
  c.dataplane_cores = 1;
  c.dataplane_mbufs = 1023;
  text = to_string(c);
  CHECK(contains(text, "\n[dataplane]\nport =\nip = 172.31.255.254/12\ngateway =\n"));
  back = parse_config(text);
  REQUIRE_MESSAGE(back.has_value(), message_of(back));
  CHECK(*back == c);
}

TEST_CASE("config: dataplane typos get a suggestion") {
  CHECK(contains(set_error("dataplane.prot", "net_tap0"),
                 "bad_config: unknown key 'dataplane.prot' (did you mean 'dataplane.port'?)"));
  CHECK(contains(set_error("dataplane.poll_mode", "busy"), "(did you mean 'dataplane.poll-mode'?)"));
  CHECK(contains(set_error("Dataplane.MBUF", "4095"), "(did you mean 'dataplane.mbufs'?)"));
  CHECK(contains(set_error("dataplane.gw", "10.0.0.1"), "(did you mean 'dataplane.ip'?)"));
  CHECK(contains(set_error("data-plane.cores", "2"), "(did you mean 'dataplane.cores'?)"));
  CHECK(contains(set_error("lcores", "1"), "(did you mean 'dataplane.lcores'?)"));
  auto r = parse_config("[dataplan]\n");
  REQUIRE_FALSE(r.has_value());
  CHECK(contains(r.error().message(), "line 1: unknown section '[dataplan]' (did you mean '[dataplane]'?)"));
  r = parse_config("[dataplane]\nip-address = 10.0.0.2/24\n");
  REQUIRE_FALSE(r.has_value());
  CHECK(contains(r.error().message(), "line 2: unknown key 'dataplane.ip-address'"));
}

TEST_CASE("config: dataplane.impair takes the impairment text, refuses a bad one with the reason, and round-trips") {
  stack_config c;
  REQUIRE(set_config_value(c, "dataplane.impair", "loss=1%,reorder=0.05,seed=9"));
  CHECK(c.dataplane_impair == "loss=1%,reorder=0.05,seed=9");
  for (const char* bad : {"loss=2", "lose=0.1", "delay=x", "seed"}) {
    CAPTURE(bad);
    auto r = set_config_value(c, "dataplane.impair", bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == errc::bad_config);
    CHECK(std::string{r.error().detail}.find("dataplane.impair") != std::string::npos);
  }
  CHECK(c.dataplane_impair == "loss=1%,reorder=0.05,seed=9");  // a refused value changes nothing
  auto back = parse_config(to_string(c));
  REQUIRE(back);
  CHECK(back->dataplane_impair == c.dataplane_impair);
}
