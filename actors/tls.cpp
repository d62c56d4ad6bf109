#include "actors/tls.hpp"

#include <caf/openssl/manager.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

namespace actorstack {

namespace {

std::string openssl_reason() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string{"unknown reason"} : out;
}

result<void> refused(const std::string& what) { return unexpected{errc::bad_config, intern(what + ": " + openssl_reason())}; }

}  // namespace

result<void> check_tls_files(const tls_files& f) {
  if (f.certificate.empty() || f.key.empty() || f.ca.empty())
    return unexpected{errc::bad_config, "TLS needs a certificate, its key and a CA, all three"};
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx) return refused("cannot make an OpenSSL context");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), f.certificate.c_str()) != 1)
    return refused("TLS certificate " + f.certificate);
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), f.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return refused("TLS key " + f.key + " cannot be loaded or is not the key of " + f.certificate);
  if (SSL_CTX_check_private_key(ctx.get()) != 1)
    return refused("TLS key " + f.key + " is not the key of " + f.certificate);
  if (SSL_CTX_load_verify_locations(ctx.get(), f.ca.c_str(), nullptr) != 1) return refused("TLS CA " + f.ca);
  return {};
}

result<void> enable_tls(caf::actor_system_config& cfg, const tls_files& f) {
  if (auto ok = check_tls_files(f); !ok) return ok;
  cfg.load<caf::openssl::manager>();
  cfg.openssl_certificate = f.certificate;
  cfg.openssl_key = f.key;
  cfg.openssl_cafile = f.ca;
  return {};
}

}  // namespace actorstack
