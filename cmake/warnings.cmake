# One place for the warning set, so the library, tools, tests and benchmarks agree.
# (-Wnull-dereference is left out: with gcc 12 at -O2 it fires inside inlined libstdc++
# and CLI11 code, not ours.)
function(usnet_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
    -Wimplicit-fallthrough -Wformat=2)
  if(USNET_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
