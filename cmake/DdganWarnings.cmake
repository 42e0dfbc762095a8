# ddgan_set_warnings(target): the warning set every C target of the project uses.
function(ddgan_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wpointer-arith -Wformat=2 -Wvla -Wundef
      # messages are bounded on purpose: snprintf truncation is the intended behaviour
      $<$<C_COMPILER_ID:GNU>:-Wno-format-truncation>>
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra>)
  if(DDGAN_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C,CXX>:-Werror>)
  endif()
endfunction()
