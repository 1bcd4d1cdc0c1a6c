# libFuzzer targets (clang; configure with -DCONLAB_FUZZ=ON): each runs for CONLAB_FUZZ_SECONDS
# (20 by default) from its committed corpus (tests/fuzz/corpus/NAME); what it finds new goes to
# a scratch folder in the build tree, never into the corpus.
set(CONLAB_FUZZ_SECONDS 20 CACHE STRING "seconds each fuzzer runs in ctest")
set(CONLAB_FUZZERS spec:conlab_common:common query:conlab_dashboard:dashboard
    target_http:conlab_target:target target_h2:conlab_target:target histogram:conlab_common:common
    part:conlab_common:common)
add_custom_target(fuzzers) # every fuzz_NAME: `cmake --build build-fuzz --target fuzzers`
foreach(f ${CONLAB_FUZZERS})
  string(REPLACE ":" ";" parts ${f})
  list(GET parts 0 name)
  list(GET parts 1 lib)
  list(GET parts 2 layer)
  add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
  target_link_libraries(fuzz_${name} PRIVATE ${lib})
  target_include_directories(fuzz_${name} PRIVATE ${CMAKE_SOURCE_DIR}/backend/${layer})
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzzers fuzz_${name})
  add_test(NAME fuzz_${name}
           COMMAND ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=1
                   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
                   sh -c "rm -rf new && mkdir new && exec $<TARGET_FILE:fuzz_${name}> -max_total_time=${CONLAB_FUZZ_SECONDS} -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 new ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name}"
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz-${name})
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz-${name})
  set_tests_properties(fuzz_${name} PROPERTIES TIMEOUT 300)
endforeach()
