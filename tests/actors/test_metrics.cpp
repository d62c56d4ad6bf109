// Prometheus metrics: the families a snapshot becomes, their text
// exposition, and a real scrape over loopback.

#include "actors/metrics/metrics.hpp"
#include "exposition_check.hpp"
#include "stack_fixture.hpp"

#include <actorstack/version.hpp>

#include <prometheus/text_serializer.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

using namespace stack_test;

namespace {

std::string exposition(const view::snapshot& s, bool up = true) {
  return prometheus::TextSerializer{}.Serialize(metrics::families(s, up));
}

// GET /metrics from 127.0.0.1:port; the whole HTTP response.
std::string scrape(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("metrics: a snapshot becomes valid exposition with Prometheus names") {
  view::snapshot s;
  worker_report w;
  w.stats.worker = 1;
  w.stats.accepts = 5;
  w.stats.io_events = 40;
  w.mailbox = 3;
  w.by_state = {{"ready", 4}, {"listening", 1}};
  s.workers = {w};
  ct_context_report c;
  c.segments.push_back({1, 1000, 300, 700, 0, 2, 1, 1, false, false});
  c.segments_deleted = 2;
  c.id = 4;
  c.mailbox = 6;
  s.contexts = {c};
  s.root_mailbox = 1;
  s.app_worker_mailboxes = {{3, 7}};
  s.apps = {{0, "a", {0}, true, true, true, 0}, {1, "b", {}, false, true, true, 0, 0, 0, false, 3, 2}};
  const auto text = exposition(s);
  CHECK(exposition_problem(text) == "");
  CHECK(text.find("actorstack_up 1") != std::string::npos);
  CHECK(text.find("actorstack_sessions{state=\"ready\",worker=\"1\"} 4") != std::string::npos);
  CHECK(text.find("actorstack_accepts_total{worker=\"1\"} 5") != std::string::npos);
  CHECK(text.find("actorstack_worker_events_total{kind=\"io\",worker=\"1\"} 40") != std::string::npos);
  CHECK(text.find("actorstack_worker_mailbox_messages{worker=\"1\"} 3") != std::string::npos);
  CHECK(text.find("actorstack_ct_segment_bytes{use=\"used\"} 300") != std::string::npos);
  CHECK(text.find("actorstack_ct_segments_deleted_total 2") != std::string::npos);
  CHECK(text.find("actorstack_apps 1") != std::string::npos);
  CHECK(text.find("actorstack_root_mailbox_messages 1") != std::string::npos);
  CHECK(text.find("actorstack_ct_context_mailbox_messages{context=\"4\"} 6") != std::string::npos);
  CHECK(text.find("actorstack_app_worker_mailbox_messages{app_worker=\"3\"} 7") != std::string::npos);
  CHECK(text.find("# TYPE actorstack_accepts_total counter") != std::string::npos);
  CHECK(text.find("actorstack_app_quota_refusals_total{app=\"1\",name=\"b\"} 3") != std::string::npos);
  CHECK(text.find("actorstack_app_shm_violations_total{app=\"1\",name=\"b\"} 2") != std::string::npos);
  CHECK(text.find("actorstack_app_shm_violations_total{app=\"0\",name=\"a\"} 0") != std::string::npos);
}

TEST_CASE("metrics: data-plane counters by core, direction and drop reason") {
  view::snapshot s;
  dataplane_core_stats d;
  d.core = 0;
  d.rx_packets = 10;
  d.tx_bytes = 640;
  d.udp_rx_datagrams = 7;
  d.busy_polls = 3;
  d.connections = 2;
  d.drops = {{"bad_checksum", 1}, {"no_session", 0}};
  s.dataplane = {d};
  const auto text = exposition(s);
  CHECK(exposition_problem(text) == "");
  CHECK(text.find("actorstack_dataplane_packets_total{core=\"0\",direction=\"rx\"} 10") != std::string::npos);
  CHECK(text.find("actorstack_dataplane_bytes_total{core=\"0\",direction=\"tx\"} 640") != std::string::npos);
  CHECK(text.find("actorstack_dataplane_udp_datagrams_total{core=\"0\",direction=\"rx\"} 7") != std::string::npos);
  CHECK(text.find("actorstack_dataplane_drops_total{core=\"0\",reason=\"bad_checksum\"} 1") != std::string::npos);
  CHECK(text.find("actorstack_dataplane_drops_total{core=\"0\",reason=\"no_session\"} 0") != std::string::npos);
  CHECK(text.find("actorstack_dataplane_polls_total{core=\"0\",kind=\"busy\"} 3") != std::string::npos);
  CHECK(text.find("actorstack_dataplane_connections{core=\"0\"} 2") != std::string::npos);
  // Without a data plane there are no data-plane families at all.
  CHECK(exposition(view::snapshot{}).find("actorstack_dataplane") == std::string::npos);
}

TEST_CASE("metrics: a stack that does not answer scrapes as actorstack_up 0") {
  const auto text = exposition({}, false);
  CHECK(exposition_problem(text) == "");
  CHECK(text.find("actorstack_up 0") != std::string::npos);
  CHECK(text.find("actorstack_sessions") == std::string::npos);
  // Even a stack that does not answer says which build serves the scrape.
  CHECK(text.find("actorstack_build_info{version=\"" + std::string{version()} + "\"} 1") != std::string::npos);
}

TEST_CASE("metrics: a real scrape over loopback reads the live stack") {
  events ev;
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  auto server = (*st)->attach({.name = "srv"}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  REQUIRE((*server)->listen(*parse_uri("ct://127.0.0.1/7500")).has_value());
  auto port = (*st)->serve_metrics(0);
  REQUIRE(port.has_value());
  CHECK((*st)->serve_metrics(0).code() == errc::invalid_argument);  // once
  const auto response = scrape(*port);
  REQUIRE(response.rfind("HTTP/1.", 0) == 0);
  CHECK(response.find(" 200 ") != std::string::npos);
  const auto body = response.substr(response.find("\r\n\r\n") + 4);
  CHECK(exposition_problem(body) == "");
  CHECK(body.find("actorstack_up 1") != std::string::npos);
  CHECK(body.find("actorstack_sessions{state=\"listening\",worker=\"0\"} 1") != std::string::npos);
  CHECK(body.find("actorstack_listeners 1") != std::string::npos);
  CHECK(body.find("actorstack_apps 1") != std::string::npos);
  // The server's app worker is the stack's own: it says what waits for it.
  CHECK(body.find("actorstack_app_worker_mailbox_messages{app_worker=\"0\"}") != std::string::npos);
}

TEST_CASE("metrics: fifo bytes per worker count an echo, and still count it once its sessions are gone") {
  events ev;  // outlives the stack: handlers may still report while it stops
  auto st = stack::create(small_config());
  REQUIRE(st.has_value());
  const std::string payload(10000, 'q');
  auto server = (*st)->attach({.name = "srv"}, [&](std::uint32_t) { return std::make_unique<echo_server>(ev); });
  auto cli = (*st)->attach({.name = "cli"}, [&](std::uint32_t) { return std::make_unique<client>(ev, payload); });
  const auto ep = *parse_uri("ct://127.0.0.1/7501");
  REQUIRE((*server)->listen(ep).has_value());
  REQUIRE((*cli)->connect(ep, 1).has_value());
  REQUIRE(ev.wait_for("echoed"));
  REQUIRE(ev.wait_for("server close"));
  REQUIRE(drained(**st).fifos == 0);
  auto port = (*st)->serve_metrics(0);
  REQUIRE(port.has_value());
  const auto response = scrape(*port);
  const auto body = response.substr(response.find("\r\n\r\n") + 4);
  CHECK(exposition_problem(body) == "");
  // Summed over workers: the payload went into the server's rx fifo (the
  // client's tx) and back into the client's rx fifo (the server's tx).
  double rx = 0, tx = 0;
  std::istringstream lines{body};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("actorstack_worker_fifo_bytes_total{", 0) != 0) continue;
    const double v = std::stod(line.substr(line.rfind(' ') + 1));
    (line.find("direction=\"rx\"") != std::string::npos ? rx : tx) += v;
  }
  CHECK(rx == 2 * payload.size());
  CHECK(tx == 2 * payload.size());
}
