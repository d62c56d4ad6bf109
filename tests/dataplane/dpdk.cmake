# dpdk tests: the EAL and ports on virtual devices (net_ring, net_tap,
# net_memif) without hugepages. Every case starts its own EAL lazily (one per
# test process: ctest runs each discovered case as its own process), so
# `--list-test-cases` at build time never touches DPDK.
actorstack_test(actorstack-test-dpdk LABEL dataplane
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_eal_port.cpp ${CMAKE_CURRENT_LIST_DIR}/test_core_loop.cpp
  LIBS actorstack_dataplane)
target_link_libraries(actorstack-test-dpdk PRIVATE PkgConfig::DPDK)
target_compile_options(actorstack-test-dpdk PRIVATE $<IF:$<CXX_COMPILER_ID:GNU>,-Wno-volatile,-Wno-deprecated-volatile>)
