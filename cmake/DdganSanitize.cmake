# DDGAN_SANITIZE="address;undefined" (or "thread") instruments every target.
if(DDGAN_SANITIZE)
  string(REPLACE ";" "," _ddgan_san "${DDGAN_SANITIZE}")
  add_compile_options(-fsanitize=${_ddgan_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_ddgan_san})
  # A shared library built with sanitizers must not insist on -z defs for the
  # sanitizer runtime symbols; the runtime comes with the executable.
  set(DDGAN_SANITIZER_ACTIVE ON)
endif()
