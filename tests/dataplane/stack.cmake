# The whole stack on DPDK net_tap / net_af_packet ports with the Linux
# kernel as the peer (kernel_side: namespaces, sockets, raw frames).
add_library(actorstack_kernel_side STATIC ${CMAKE_CURRENT_LIST_DIR}/kernel_side.cpp)
target_link_libraries(actorstack_kernel_side PUBLIC actorstack_options)
actorstack_test(actorstack-test-udp-tap LABEL dataplane
  SOURCES ${PROJECT_SOURCE_DIR}/tests/dataplane/test_udp_tap.cpp
  LIBS actorstack_actors actorstack_kernel_side PkgConfig::DPDK)
actorstack_use_caf(actorstack-test-udp-tap)
# One case lowers the port's MTU through DPDK itself (rte_eth_dev_set_mtu);
# DPDK's headers trip -Wvolatile under C++20.
target_compile_options(actorstack-test-udp-tap PRIVATE $<IF:$<CXX_COMPILER_ID:GNU>,-Wno-volatile,-Wno-deprecated-volatile>)

# TCP (issue: TCP) against the kernel over net_tap: one data-plane core
# driven through its rings as a worker drives it, kernel sockets opposite.
actorstack_test(actorstack-test-tcp-tap LABEL dataplane SERIAL
  SOURCES ${PROJECT_SOURCE_DIR}/tests/dataplane/test_tcp_tap.cpp
  LIBS actorstack_dataplane actorstack_kernel_side)
target_link_libraries(actorstack-test-tcp-tap PRIVATE PkgConfig::DPDK)
target_compile_options(actorstack-test-tcp-tap PRIVATE $<IF:$<CXX_COMPILER_ID:GNU>,-Wno-volatile,-Wno-deprecated-volatile>)
