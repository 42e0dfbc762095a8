# Backend plug-ins. Each is a MODULE library named libddgan-backend-<name>.so
# placed (and installed) in the ddgan/ folder next to libddgan.so, where the
# core finds it at run time. The core library never links their dependencies.

# ddgan_add_backend_plugin(name sources...)
function(ddgan_add_backend_plugin name)
  set(target ddgan_backend_${name})
  add_library(${target} MODULE ${ARGN})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "libddgan-backend-${name}"
    LIBRARY_OUTPUT_DIRECTORY ${DDGAN_PLUGIN_BUILD_DIR})
  target_include_directories(${target} PRIVATE
    ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/lib ${CMAKE_SOURCE_DIR}/backends)
  # host compilers only (nvcc has its own switch, --fmad, set by the cuda plug-in)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C,CXX>:-ffp-contract=off>)
  ddgan_set_warnings(${target})
  install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/${DDGAN_PLUGIN_SUBDIR})
endfunction()

# --- dependencies, resolved here so the summary can report them ------------
if(DDGAN_WITH_DNNL)
  find_package(DNNL)
  find_package(OpenBLAS)
  if(NOT DNNL_FOUND OR NOT OpenBLAS_FOUND)
    message(FATAL_ERROR "DDGAN_WITH_DNNL=ON needs oneDNN and OpenBLAS "
                        "(Debian: apt-get install libdnnl-dev libopenblas-dev), or -DDDGAN_WITH_DNNL=OFF")
  endif()
endif()

set(DDGAN_CUDA_ENABLED OFF)
if(DDGAN_SANITIZE AND DDGAN_WITH_CUDA STREQUAL "AUTO")
  # the sanitizer flags are global compile options nvcc does not accept
  message(STATUS "cuda plug-in skipped: DDGAN_SANITIZE is set (use -DDDGAN_WITH_CUDA=ON to force it)")
elseif(NOT DDGAN_WITH_CUDA STREQUAL "OFF")
  find_package(CUDAToolkit QUIET)
  find_package(CUDNN QUIET)
  if(CUDAToolkit_FOUND AND CUDAToolkit_NVCC_EXECUTABLE AND CUDNN_FOUND)
    set(DDGAN_CUDA_ENABLED ON)
  elseif(DDGAN_WITH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "DDGAN_WITH_CUDA=ON but nvcc/cuDNN were not found "
                        "(set CUDAToolkit_ROOT / CUDNN_ROOT, or use AUTO/OFF)")
  endif()
endif()

foreach(_plugin_dir cpu cuda)
  if(EXISTS ${CMAKE_SOURCE_DIR}/backends/${_plugin_dir}/CMakeLists.txt)
    add_subdirectory(${CMAKE_SOURCE_DIR}/backends/${_plugin_dir})
  endif()
endforeach()
