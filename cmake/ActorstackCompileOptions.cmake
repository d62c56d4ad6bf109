# Project-wide warning and sanitizer flags, applied through one interface
# target so every library, test and benchmark is built the same way.
add_library(actorstack_options INTERFACE)
target_compile_options(actorstack_options INTERFACE -Wall -Wextra)
if(ACTORSTACK_WERROR)
  target_compile_options(actorstack_options INTERFACE -Werror)
endif()
target_include_directories(actorstack_options INTERFACE
  ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR})

if(ACTORSTACK_SANITIZE STREQUAL "address")
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
elseif(ACTORSTACK_SANITIZE STREQUAL "thread")
  # -Wno-tsan: TSan does not model standalone fences (GCC warns at each
  # one). The fifo's store-load fences are what the normal and ASan runs and
  # the fifo model tests exercise; TSan checks everything around them.
  set(_san -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
elseif(ACTORSTACK_SANITIZE STREQUAL "fuzzer")
  # libFuzzer's coverage hooks everywhere, its main only in the fuzz
  # targets (fuzz/CMakeLists.txt); address+undefined catch what they find.
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ACTORSTACK_SANITIZE=fuzzer needs clang (-DCMAKE_CXX_COMPILER=clang++)")
  endif()
  set(_san -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
elseif(NOT ACTORSTACK_SANITIZE STREQUAL "")
  message(FATAL_ERROR "ACTORSTACK_SANITIZE must be '', 'address', 'thread' or 'fuzzer'")
endif()
if(_san)
  target_compile_options(actorstack_options INTERFACE ${_san})
  target_link_options(actorstack_options INTERFACE ${_san})
endif()

# A precompiled header for CAF: its headers dominate compile time on small
# machines (3-4 s per TU without, ~1 s with). Targets that use CAF call
# actorstack_use_caf(<target>); the first such target of a kind builds the
# PCH and the rest of that kind reuse it. Libraries (-fPIC, they go into
# the shared libraries) and executables (-fPIE) need one each: GCC refuses
# a PCH made with the other setting.
function(actorstack_use_caf target)
  target_link_libraries(${target} PRIVATE CAF::io CAF::core)
  get_target_property(_type ${target} TYPE)
  set(_owner_property ACTORSTACK_CAF_PCH_OWNER_${_type})
  if(NOT _type STREQUAL "EXECUTABLE")
    set(_owner_property ACTORSTACK_CAF_PCH_OWNER_LIBRARY)
  endif()
  get_property(_pch_owner GLOBAL PROPERTY ${_owner_property})
  if(NOT _pch_owner)
    target_precompile_headers(${target} PRIVATE <caf/all.hpp> <caf/io/all.hpp>)
    set_property(GLOBAL PROPERTY ${_owner_property} ${target})
  else()
    target_precompile_headers(${target} REUSE_FROM ${_pch_owner})
  endif()
endfunction()
