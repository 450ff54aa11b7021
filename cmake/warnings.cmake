# One place for the warning set, so the library, tools, tests and benchmarks agree.
function(usnet_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
    -Wnull-dereference -Wimplicit-fallthrough -Wformat=2)
  if(USNET_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
