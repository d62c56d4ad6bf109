// What `show` renders from a snapshot of the actors' reports: the JSON
// fields tools read, the filters, and clear errors.

#include "session/view/render.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

using namespace actorstack;
using namespace actorstack::view;

namespace {

snapshot sample() {
  snapshot s;
  worker_report w0;
  w0.stats.worker = 0;
  w0.sessions.push_back({session_handle{0, 0, 0}.value(), "listening", "ct", 0, "[0:0][CT:ct] L LISTEN"});
  w0.sessions.push_back({session_handle{0, 1, 0}.value(), "ready", "ct", 0, "[0:1][CT:ct] a->b ESTABLISHED"});
  w0.sessions.push_back({session_handle{0, 2, 0}.value(), "ready", "ct", 1, "[0:2][CT:ct] b->a ESTABLISHED"});
  worker_report w1;
  w1.stats.worker = 1;
  w1.sessions.push_back({session_handle{1, 0, 0}.value(), "closing", "ct", 1, "[1:0][CT:ct] c->d ESTABLISHED"});
  s.workers = {w0, w1};
  s.apps = {{0, "server", {0}, true, true, true, 0, 4321, 1000, true, 0, 2}, {1, "client", {1}, true, true, true, 0},
            {2, "gone", {}, false, true, true, 0}, {3, "threads", {3, 5, 6}, true, true, true, 0}};
  s.listeners = {{0, "server", "ct://127.0.0.1/1234", "local", 0, session_handle{0, 0, 0}.value()}};
  ct_context_report c;
  c.id = 0;
  c.segments.push_back({7, 1000, 300, 700, 400, 4, 2, 2, false, false});
  c.segments.push_back({8, 1000, 100, 900, 0, 0, 0, 0, true, true});
  c.mailbox = 5;
  s.contexts = {c};
  s.root_mailbox = 2;
  s.app_worker_mailboxes = {{0, 9}};  // the server's worker; the client's is user-written
  return s;
}

std::string show(const std::string& topic, std::vector<std::string> args = {}) {
  auto o = parse_show_options(args);
  REQUIRE(o.has_value());
  auto r = render(topic, *o, sample());
  REQUIRE(r.has_value());
  return *r;
}

}  // namespace

TEST_CASE("show summary --json: sessions without listeners, by state, apps alive, segment bytes") {
  CHECK(show("summary", {"--json"}) ==
        "{\"sessions\":3,\"sessions_by_state\":{\"closing\":1,\"ready\":2},\"listeners\":1,\"apps\":3,"
        "\"workers\":2,\"ct_contexts\":1,\"ct_segments\":2,\"segment_bytes_used\":400,"
        "\"segment_bytes_free\":1600,\"dataplane_cores\":0,\"root_mailbox\":2}\n");
}

TEST_CASE("show sessions: the SPEC format strings, filtered by app, state and transport") {
  const auto table = show("sessions");
  CHECK(table.find("[0:0][CT:ct] L LISTEN") != std::string::npos);
  CHECK(table.find("[1:0][CT:ct] c->d ESTABLISHED") != std::string::npos);
  const auto client = show("sessions", {"--json", "--app", "1"});
  CHECK(client.find("\"app_worker\":0") == std::string::npos);
  CHECK(client.find("[0:2]") != std::string::npos);
  CHECK(client.find("[1:0]") != std::string::npos);
  const auto ready = show("sessions", {"--state", "ready", "--transport", "ct", "--json"});
  CHECK(ready.find("closing") == std::string::npos);
  CHECK(ready.find("listening") == std::string::npos);
  CHECK(show("sessions", {"--transport", "udp", "--json"}) == "[]\n");
}

TEST_CASE("show ct, apps, listeners, workers, dataplane render every row") {
  CHECK(show("ct", {"--json"}).find("\"client_detached\":true") != std::string::npos);
  CHECK(show("ct", {"--json"}).find("\"mailbox\":5") != std::string::npos);
  CHECK(show("summary").find("root mailbox 2") != std::string::npos);
  CHECK(show("ct").find("cs") != std::string::npos);  // both sides detached
  CHECK(show("apps").find("detached") != std::string::npos);
  CHECK(show("apps").find("4321") != std::string::npos);     // the server's pid
  CHECK(show("apps").find("process") != std::string::npos);  // it is attached from another process
  CHECK(show("apps").find("shm violations") != std::string::npos);
  // Workers added and deleted leave gaps: listed one by one.
  CHECK(show("apps").find("3,5,6") != std::string::npos);
  CHECK(show("apps", {"--json"}).find("\"app_workers\":[3,5,6],\"workers\":3") != std::string::npos);
  const auto apps_json = show("apps", {"--json"});
  CHECK(apps_json.find("\"name\":\"server\",\"app_workers\":[0],\"workers\":1,\"live\":true,\"scope\":\"local+global\",\"ns\":0,\"pid\":4321,\"uid\":1000,\"attached\":true,\"quota_refusals\":0,\"shm_violations\":2,\"mailbox\":9") !=
        std::string::npos);
  CHECK(apps_json.find("\"name\":\"client\",\"app_workers\":[1],\"workers\":1,\"live\":true,\"scope\":\"local+global\",\"ns\":0,\"pid\":0,\"uid\":0,\"attached\":false,\"quota_refusals\":0,\"shm_violations\":0}") !=
        std::string::npos);  // unknown: no mailbox field
  CHECK(show("listeners", {"--json"}).find("\"endpoint\":\"ct://127.0.0.1/1234\"") != std::string::npos);
  CHECK(show("workers", {"--json"}).find("\"worker\":1") != std::string::npos);
  CHECK(show("dataplane", {"--json"}) == "[]\n");
}

namespace {
dataplane_core_stats core0() {
  dataplane_core_stats d;
  d.core = 0;
  d.port = "net_tap0";
  d.mac = "02:00:00:00:00:01";
  d.address = "10.0.0.2/24";
  d.thread = "worker 0";
  d.connections = 3;
  d.rx_packets = 100;
  d.tx_packets = 90;
  d.udp_rx_datagrams = 80;
  d.busy_polls = 25;
  d.idle_polls = 75;
  d.drops = {{"bad_checksum", 4}, {"fragment", 0}, {"no_session", 6}};
  return d;
}
}  // namespace

TEST_CASE("show dataplane: one block per core, non-zero drops by reason, JSON has every reason") {
  snapshot s = sample();
  s.dataplane = {core0()};
  auto text = render("dataplane", {}, s);
  REQUIRE(text.has_value());
  CHECK(text->find("core 0 on net_tap0 (02:00:00:00:00:01, 10.0.0.2/24), 3 udp connection(s)") != std::string::npos);
  CHECK(text->find("rx 100 pkts") != std::string::npos);
  CHECK(text->find("(25% busy)") != std::string::npos);
  CHECK(text->find("runs on worker 0\n") != std::string::npos);
  CHECK(text->find("drops: bad_checksum 4 no_session 6") != std::string::npos);
  CHECK(text->find("fragment") == std::string::npos);  // zero: not shown
  show_options json;
  json.json = true;
  auto j = render("dataplane", json, s);
  REQUIRE(j.has_value());
  CHECK(j->find("\"drops\":{\"bad_checksum\":4,\"fragment\":0,\"no_session\":6}") != std::string::npos);
  CHECK(j->find("\"udp_rx_datagrams\":80") != std::string::npos);
  CHECK(j->find("\"thread\":\"worker 0\"") != std::string::npos);
  // The summary names the data plane only when there is one.
  auto sum = render("summary", {}, s);
  REQUIRE(sum.has_value());
  CHECK(sum->find("data plane: 1 core(s), rx 100 pkts, tx 90 pkts, drops 10") != std::string::npos);
  CHECK(show("summary").find("data plane") == std::string::npos);
  CHECK(show("dataplane") == "no data plane in this stack\n");
}

TEST_CASE("show: unknown topics and options are clear errors") {
  auto o = parse_show_options({});
  REQUIRE(o.has_value());
  auto bad = render("everything", *o, sample());
  CHECK(bad.code() == errc::invalid_argument);
  CHECK(std::string{bad.error().detail}.find("unknown topic") != std::string::npos);
  CHECK(parse_show_options({"--colour"}).code() == errc::invalid_argument);
  CHECK(parse_show_options({"--app"}).code() == errc::invalid_argument);
  CHECK(parse_show_options({"--app", "x1"}).code() == errc::invalid_argument);
}

TEST_CASE("show: any bytes in an app's name give valid JSON and a table without terminal controls") {
  snapshot s = sample();
  // Quotes and backslashes, a colour escape, a window-title OSC, a C1 CSI,
  // a newline and carriage return, DEL, and bytes that are not UTF-8.
  const std::string evil = "a\"b\\c\x1b[31mred\x1b]0;title\x07\xc2\x9b" "2J\n\r\x7f\xff\xfe\xc0\xaf end";
  s.apps[0].name = evil;
  s.listeners[0].app_name = evil;
  const std::string nice = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x90\x98";  // café ✓ 🐘: printable UTF-8 stays
  s.apps[1].name = nice;
  auto render_topic = [&](const std::string& topic, std::vector<std::string> args) {
    auto o = parse_show_options(args);
    REQUIRE(o.has_value());
    auto r = render(topic, *o, s);
    REQUIRE(r.has_value());
    return *r;
  };
  for (const char* topic : {"apps", "listeners"}) {
    CAPTURE(topic);
    const auto j = nlohmann::json::parse(render_topic(topic, {"--json"}), nullptr, false);
    REQUIRE(!j.is_discarded());
    const auto text = render_topic(topic, {});
    for (unsigned char c : text) {
      CHECK(c != 0x1b);
      CHECK(c != 0x07);
      CHECK(c != 0x7f);
      CHECK((c >= 0x20 || c == '\n'));
    }
    CHECK(text.find("\xc2\x9b") == std::string::npos);
    CHECK(text.find("\\x1b[31mred") != std::string::npos);  // shown, not obeyed
    // A header and one line per row: the newline and CR in the name did not break a row.
    const auto rows = std::string{topic} == "apps" ? s.apps.size() : s.listeners.size();
    CHECK(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) == 1 + rows);
  }
  const auto apps = nlohmann::json::parse(render_topic("apps", {"--json"}));
  CHECK(apps[1]["name"] == nice);
  const std::string got = apps[0]["name"];
  CHECK(got.rfind("a\"b\\c\x1b[31mred", 0) == 0);  // valid UTF-8 kept exactly, escaped in the JSON text
  CHECK(got.find("\xef\xbf\xbd") != std::string::npos);  // the bytes that are not UTF-8: U+FFFD
  CHECK(render_topic("apps", {}).find(nice) != std::string::npos);
}
