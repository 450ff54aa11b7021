# `cmake --install` puts the library, its public headers, a CMake package (find_package(usnet))
# and a pkg-config file in place.
include(CMakePackageConfigHelpers)

install(TARGETS usnet EXPORT usnetTargets
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
configure_file(cmake/usnet.pc.in ${CMAKE_CURRENT_BINARY_DIR}/usnet.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/usnet.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
