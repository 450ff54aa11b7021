# `cmake --install` puts both libraries, the public headers, a CMake package
# (find_package(usnet): usnet::usnet is the shared library, usnet::usnet_static the static
# one) and pkg-config files (usnet: the shared library, with what a static link needs in
# Libs.private/Requires.private; usnet-static: the static archive by name) in place.
include(CMakePackageConfigHelpers)

# The C++ runtime the archive needs when a C driver links the program (USNET_CXX_RUNTIME_LIBS,
# from the top-level CMakeLists.txt), for the pkg-config files and the CMake package.
list(TRANSFORM USNET_CXX_RUNTIME_LIBS PREPEND -l OUTPUT_VARIABLE USNET_PC_CXX_RUNTIME)
list(JOIN USNET_PC_CXX_RUNTIME " " USNET_PC_CXX_RUNTIME)

install(TARGETS usnet usnet_shared EXPORT usnetTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/usnet DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT usnetTargets NAMESPACE usnet:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/usnet)

configure_package_config_file(cmake/usnetConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/usnetConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/usnet)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/usnetConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/usnetConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/usnetConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/usnet)

file(RELATIVE_PATH USNET_PC_RELATIVE_PREFIX "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig"
     "${CMAKE_INSTALL_PREFIX}")
foreach(pc usnet usnet-static)
  configure_file(cmake/${pc}.pc.in ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
