# FindDNNL: oneDNN (Debian's libdnnl-dev ships no CMake config).
# Result: DNNL_FOUND, DNNL_VERSION, imported target DNNL::dnnl.
# Hints: DNNL_ROOT.
find_path(DNNL_INCLUDE_DIR NAMES dnnl.h HINTS ${DNNL_ROOT} ENV DNNL_ROOT PATH_SUFFIXES include)
find_library(DNNL_LIBRARY NAMES dnnl HINTS ${DNNL_ROOT} ENV DNNL_ROOT PATH_SUFFIXES lib lib64)
if(DNNL_INCLUDE_DIR AND EXISTS "${DNNL_INCLUDE_DIR}/dnnl_version.h")
  file(STRINGS "${DNNL_INCLUDE_DIR}/dnnl_version.h" _dnnl_v REGEX "#define DNNL_VERSION_(MAJOR|MINOR|PATCH) ")
  foreach(_p MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*#define DNNL_VERSION_${_p} ([0-9]+).*" "\\1" _dnnl_${_p} "${_dnnl_v}")
  endforeach()
  set(DNNL_VERSION "${_dnnl_MAJOR}.${_dnnl_MINOR}.${_dnnl_PATCH}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(DNNL REQUIRED_VARS DNNL_LIBRARY DNNL_INCLUDE_DIR VERSION_VAR DNNL_VERSION)
if(DNNL_FOUND AND NOT TARGET DNNL::dnnl)
  add_library(DNNL::dnnl UNKNOWN IMPORTED)
  set_target_properties(DNNL::dnnl PROPERTIES
    IMPORTED_LOCATION "${DNNL_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
endif()
mark_as_advanced(DNNL_INCLUDE_DIR DNNL_LIBRARY)
