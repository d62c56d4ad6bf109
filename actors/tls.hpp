#pragma once
/// \file
/// TLS for the connections that may come from another host (the
/// inspector's): CAF's OpenSSL module with certificates on both ends.
///
/// CAF loads the files only when the first connection arrives, on its
/// multiplexer thread, and raises an exception there if one is bad — the
/// process would end. So the files are checked here first, with OpenSSL
/// itself, and a bad one is a typed error where the program starts.

#include <actorstack/result.hpp>

#include <caf/actor_system_config.hpp>

#include <string>

namespace actorstack {

/// This side's certificate chain and key, and the CA every peer must be
/// signed by (PEM files).
struct tls_files {
  std::string certificate;
  std::string key;
  std::string ca;
  bool enabled() const noexcept { return !certificate.empty(); }
};

/// All three readable, the key the certificate's, the CA loadable.
/// Errors: bad_config naming the file and OpenSSL's reason.
result<void> check_tls_files(const tls_files& files);

/// Checks the files, then loads CAF's OpenSSL module into `cfg` (which
/// must load the middleman too) with them: connections published or opened
/// through caf::openssl then need a certificate the CA signed, both ways.
result<void> enable_tls(caf::actor_system_config& cfg, const tls_files& files);

}  // namespace actorstack
