# The allocator of the stack's own programs (actorstack-stackd, the demos,
# the benchmarks): tcmalloc (Debian's libtcmalloc-minimal4) when it is
# installed and no sanitizer replaces malloc. glibc's malloc takes an
# arena's lock whenever a thread frees, past its small per-thread cache,
# what another thread allocated — every CAF message between actors that
# run on two scheduler threads — and that lock held cut-through connects
# to less than half of what the same code does with per-thread caches that
# take such frees (docs/performance.md, "The allocator"). The library
# itself never chooses the allocator of a program that embeds it
# (docs/architecture.md, Build).
option(ACTORSTACK_TCMALLOC "Link the stack's programs against tcmalloc when it is installed" ON)
set(ACTORSTACK_MALLOC_LIBRARY "")
if(ACTORSTACK_TCMALLOC AND ACTORSTACK_SANITIZE STREQUAL "")
  # The runtime package alone (no -dev package): its versioned name.
  find_library(ACTORSTACK_TCMALLOC_PATH NAMES tcmalloc_minimal libtcmalloc_minimal.so.4)
  if(ACTORSTACK_TCMALLOC_PATH)
    set(ACTORSTACK_MALLOC_LIBRARY ${ACTORSTACK_TCMALLOC_PATH})
    message(STATUS "actorstack programs allocate with ${ACTORSTACK_TCMALLOC_PATH}")
  else()
    message(STATUS "actorstack programs allocate with glibc's malloc (no libtcmalloc-minimal4)")
  endif()
endif()

# Links `target` (an executable) against that allocator. --no-as-needed:
# nothing names a tcmalloc symbol, it only takes malloc's place.
function(actorstack_use_fast_malloc target)
  if(ACTORSTACK_MALLOC_LIBRARY)
    target_link_libraries(${target} PRIVATE "-Wl,--push-state,--no-as-needed" ${ACTORSTACK_MALLOC_LIBRARY}
                                            "-Wl,--pop-state")
  endif()
endfunction()
