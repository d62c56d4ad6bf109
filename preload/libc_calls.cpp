#include "preload/libc_calls.hpp"

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace actorstack::preload {

namespace {

template <class F>
void resolve(F& slot, const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) {
    // stderr through write(2) itself: stdio may call back into us.
    const char* msg = "actorstack-preload: the C library has no ";
    (void)!::syscall(SYS_write, 2, msg, std::strlen(msg));
    (void)!::syscall(SYS_write, 2, name, std::strlen(name));
    (void)!::syscall(SYS_write, 2, "\n", 1);
    std::abort();
  }
  slot = reinterpret_cast<F>(f);
}

libc_calls load() {
  libc_calls c{};
#define ACTORSTACK_RESOLVE(name) resolve(c.name, #name)
  ACTORSTACK_RESOLVE(socket);
  ACTORSTACK_RESOLVE(bind);
  ACTORSTACK_RESOLVE(listen);
  ACTORSTACK_RESOLVE(accept);
  ACTORSTACK_RESOLVE(accept4);
  ACTORSTACK_RESOLVE(connect);
  ACTORSTACK_RESOLVE(shutdown);
  ACTORSTACK_RESOLVE(close);
  ACTORSTACK_RESOLVE(getsockname);
  ACTORSTACK_RESOLVE(getpeername);
  ACTORSTACK_RESOLVE(getsockopt);
  ACTORSTACK_RESOLVE(setsockopt);
  ACTORSTACK_RESOLVE(fcntl);
  ACTORSTACK_RESOLVE(ioctl);
  ACTORSTACK_RESOLVE(dup);
  ACTORSTACK_RESOLVE(dup2);
  ACTORSTACK_RESOLVE(dup3);
  ACTORSTACK_RESOLVE(read);
  ACTORSTACK_RESOLVE(write);
  ACTORSTACK_RESOLVE(readv);
  ACTORSTACK_RESOLVE(writev);
  ACTORSTACK_RESOLVE(recv);
  ACTORSTACK_RESOLVE(send);
  ACTORSTACK_RESOLVE(recvfrom);
  ACTORSTACK_RESOLVE(sendto);
  ACTORSTACK_RESOLVE(recvmsg);
  ACTORSTACK_RESOLVE(sendmsg);
  ACTORSTACK_RESOLVE(poll);
  ACTORSTACK_RESOLVE(ppoll);
  ACTORSTACK_RESOLVE(select);
  ACTORSTACK_RESOLVE(pselect);
  ACTORSTACK_RESOLVE(epoll_create);
  ACTORSTACK_RESOLVE(epoll_create1);
  ACTORSTACK_RESOLVE(epoll_ctl);
  ACTORSTACK_RESOLVE(epoll_wait);
  ACTORSTACK_RESOLVE(epoll_pwait);
#undef ACTORSTACK_RESOLVE
  return c;
}

}  // namespace

const libc_calls& libc() {
  static const libc_calls calls = load();
  return calls;
}

}  // namespace actorstack::preload
