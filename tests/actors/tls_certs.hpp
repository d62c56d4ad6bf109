#pragma once
// Certificates for tests of the TLS inspect port (the only one CAF's
// middleman serves): a CA, and the stack's and a peer's certificates signed
// by it, made once per test process with the openssl command (as
// tests/integration/tls_inspect.sh does).
#include "actors/tls.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace actorstack::test {

struct tls_certs {
  std::string dir;
  tls_files stack;  // what the stack presents
  tls_files peer;   // what a process that reaches its inspect port presents
};

inline const tls_certs& certs() {
  static const tls_certs made = [] {
    tls_certs c;
    c.dir = "/tmp/actorstack-test-certs-" + std::to_string(::getpid());
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    const std::string script =
        "set -e; rm -rf " + c.dir + "; mkdir -p " + c.dir + "; cd " + c.dir +
        "; openssl req -x509" + ec + "-keyout ca.key -out ca.pem -days 2 -subj /CN=ca 2>/dev/null" +
        "; for n in stack peer; do openssl req" + ec + "-keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null" +
        "; openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 2 2>/dev/null; done";
    REQUIRE_MESSAGE(std::system(("bash -c '" + script + "'").c_str()) == 0, "openssl could not make test certificates");
    c.stack = {c.dir + "/stack.pem", c.dir + "/stack.key", c.dir + "/ca.pem"};
    c.peer = {c.dir + "/peer.pem", c.dir + "/peer.key", c.dir + "/ca.pem"};
    std::atexit([] { (void)std::system(("rm -rf /tmp/actorstack-test-certs-" + std::to_string(::getpid())).c_str()); });
    return c;
  }();
  return made;
}

}  // namespace actorstack::test
