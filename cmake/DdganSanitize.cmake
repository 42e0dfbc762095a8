# DDGAN_SANITIZE="address;undefined" (or "thread") instruments every target.
if(DDGAN_SANITIZE)
  string(REPLACE ";" "," _ddgan_san "${DDGAN_SANITIZE}")
  # gcc's "undefined" leaves out float-cast-overflow (clang's includes it): out-of-range
  # double -> integer conversions are undefined behaviour, and fuzzing found one.
  if("undefined" IN_LIST DDGAN_SANITIZE AND CMAKE_C_COMPILER_ID STREQUAL "GNU")
    string(APPEND _ddgan_san ",float-cast-overflow")
  endif()
  add_compile_options(-fsanitize=${_ddgan_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_ddgan_san})
  # A shared library built with sanitizers must not insist on -z defs for the
  # sanitizer runtime symbols; the runtime comes with the executable.
  set(DDGAN_SANITIZER_ACTIVE ON)
endif()

# DDGAN_FUZZ=ON (clang only): libFuzzer targets in tests/fuzz. Everything is
# compiled with coverage instrumentation (fuzzer-no-link) plus ASan and UBSan;
# only the fuzz executables link libFuzzer's main.
option(DDGAN_FUZZ "Build the libFuzzer targets (clang; implies address;undefined)" OFF)
if(DDGAN_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DDGAN_FUZZ=ON needs clang (libFuzzer)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
  set(DDGAN_SANITIZER_ACTIVE ON)
endif()
