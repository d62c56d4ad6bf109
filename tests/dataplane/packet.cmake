# packet tests: the wire formats (dataplane/packet), no DPDK, no EAL.
# This file is include()d from tests/dataplane/, so a relative source would
# resolve against that directory; name it from this file's own location.
actorstack_test(actorstack-test-packet LABEL core
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_packet.cpp ${CMAKE_CURRENT_LIST_DIR}/test_impairment.cpp
  LIBS actorstack_packet)

# The direct tx and rx inboxes (dataplane/direct_tx.hpp, direct_rx.hpp):
# lock-free rings and flags, no DPDK.
actorstack_test(actorstack-test-direct-tx LABEL core
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_direct_tx.cpp ${CMAKE_CURRENT_LIST_DIR}/test_direct_rx.cpp
  LIBS actorstack_packet Threads::Threads)
