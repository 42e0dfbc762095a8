# FindOpenBLAS: OpenBLAS with its CBLAS header.
# Result: OpenBLAS_FOUND, imported target OpenBLAS::OpenBLAS. Hints: OpenBLAS_ROOT.
find_path(OpenBLAS_INCLUDE_DIR NAMES cblas.h
  HINTS ${OpenBLAS_ROOT} ENV OpenBLAS_ROOT
  PATH_SUFFIXES include include/openblas include/x86_64-linux-gnu/openblas-pthread
                include/aarch64-linux-gnu/openblas-pthread)
find_library(OpenBLAS_LIBRARY NAMES openblas HINTS ${OpenBLAS_ROOT} ENV OpenBLAS_ROOT PATH_SUFFIXES lib lib64)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenBLAS REQUIRED_VARS OpenBLAS_LIBRARY OpenBLAS_INCLUDE_DIR)
if(OpenBLAS_FOUND AND NOT TARGET OpenBLAS::OpenBLAS)
  add_library(OpenBLAS::OpenBLAS UNKNOWN IMPORTED)
  set_target_properties(OpenBLAS::OpenBLAS PROPERTIES
    IMPORTED_LOCATION "${OpenBLAS_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIR}")
endif()
mark_as_advanced(OpenBLAS_INCLUDE_DIR OpenBLAS_LIBRARY)
