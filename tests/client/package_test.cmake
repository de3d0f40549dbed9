# Installs the client component into a scratch prefix, then
#  1. builds examples/ against it with find_package(Ouroboros) -> Ouroboros::client, and
#  2. compiles and links a program with the flags pkg-config gives for ouroboros-client.
# Usage: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#              -DSANITIZE=ON|OFF -P package_test.cmake
set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${output}")
  endif()
endfunction()

run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --component client --prefix "${prefix}")
foreach(file include/ouroboros/client.hpp lib/cmake/Ouroboros/OuroborosConfig.cmake
        lib/pkgconfig/ouroboros-client.pc)
  if(NOT EXISTS "${prefix}/${file}")
    message(FATAL_ERROR "not installed: ${file}")
  endif()
endforeach()

set(flags "")
if(SANITIZE)
  set(flags "-fsanitize=address,undefined")
endif()
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples" -B "${WORK_DIR}/examples" -G "${GENERATOR}"
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER} "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_FLAGS=${flags}"
    "-DCMAKE_EXE_LINKER_FLAGS=${flags}")
run(${CMAKE_COMMAND} --build "${WORK_DIR}/examples")

set(ENV{PKG_CONFIG_PATH} "${prefix}/lib/pkgconfig")
execute_process(COMMAND pkg-config --cflags --libs ouroboros-client
                RESULT_VARIABLE result OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT result EQUAL 0 OR NOT pc_flags MATCHES "-louroboros-client")
  message(FATAL_ERROR "pkg-config ouroboros-client failed: ${pc_flags}")
endif()
separate_arguments(pc_list UNIX_COMMAND "${pc_flags}")
separate_arguments(sanitize_list UNIX_COMMAND "${flags}")
file(WRITE "${WORK_DIR}/pc.cpp"
  "#include <ouroboros/client.hpp>\nint main() { return ouroboros::Decimal(\"1.5\") == ouroboros::Decimal(\"1.50\") ? 0 : 1; }\n")
run(${CXX_COMPILER} ${sanitize_list} "${WORK_DIR}/pc.cpp" -o "${WORK_DIR}/pc" ${pc_list})
run("${WORK_DIR}/pc")
