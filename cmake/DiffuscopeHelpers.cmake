# Warnings on every target of ours, errors nowhere (Debian's compilers change warnings between releases).
function(diffuscope_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                         -Wno-deprecated-enum-enum-conversion
                         # GCC 12 flags its own AVX-512 intrinsics inside Eigen as maybe-uninitialized.
                         -Wno-maybe-uninitialized)
endfunction()

# Test sources are mostly glue around calls into the core, which keeps -O3: at -O1 they compile in about two
# thirds of the time (tests/core/metrics_test.cpp: 4.8 s of CPU instead of 7.3 s).
function(diffuscope_test_options target)
  target_compile_options(${target} PRIVATE $<$<CONFIG:Release>:-O1>)
endfunction()

# One GoogleTest executable per test file, named after it: tests/core/schedule_test.cpp -> core_schedule_test,
# registered with CTest as core/schedule.
function(diffuscope_add_gtest group source)
  get_filename_component(stem ${source} NAME_WE)
  string(REGEX REPLACE "_test$" "" module ${stem})
  set(target ${group}_${stem})
  add_executable(${target} ${source})
  target_link_libraries(${target} PRIVATE diffuscope::core GTest::gtest GTest::gtest_main ${ARGN})
  target_compile_definitions(${target} PRIVATE
    DIFFUSCOPE_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data"
    DIFFUSCOPE_SHARED_DATA="${PROJECT_SOURCE_DIR}/../shared/data"
    DIFFUSCOPE_RESOURCES="${PROJECT_SOURCE_DIR}/resources")
  diffuscope_warnings(${target})
  diffuscope_test_options(${target})
  add_test(NAME ${group}/${module} COMMAND ${target})
  # oneDNN's OpenMP threads sleep rather than spin at barriers: tests run two at a time on two cores.
  set_tests_properties(${group}/${module} PROPERTIES LABELS ${group} TIMEOUT 600 ENVIRONMENT OMP_WAIT_POLICY=PASSIVE)
endfunction()
