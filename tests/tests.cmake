# C unit tests: tests/test_*.c, one executable and one ctest entry each.
file(GLOB CONLAB_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/test_*.c)
foreach(src ${CONLAB_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  # A test links the layer it tests and may read that layer's private headers: test_LAYER.c
  # and test_LAYER_PART.c test a layer; every other test_X.c tests common.
  string(REGEX REPLACE "^test_" "" unit ${name})
  string(REGEX REPLACE "_.*$" "" unit ${unit})
  set(layer common)
  if(unit STREQUAL "store" OR unit STREQUAL "target" OR unit STREQUAL "dashboard")
    set(layer ${unit})
  endif()
  target_link_libraries(${name} PRIVATE conlab_${layer})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/backend/${layer})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120)
endforeach()

# Integration tests: tests/integration/test_*.py (Python's unittest) start the real binary on
# loopback. CONLAB_BIN tells them which binary.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
file(GLOB CONLAB_PY_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/test_*.py)
foreach(src ${CONLAB_PY_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_test(NAME it_${name} COMMAND ${Python3_EXECUTABLE} -m unittest -v ${name}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/integration)
  set_tests_properties(it_${name} PROPERTIES TIMEOUT 600
    ENVIRONMENT "CONLAB_BIN=$<TARGET_FILE:conlab>;CONLAB_SOURCE_DIR=${CMAKE_SOURCE_DIR};CONLAB_BUILD_DIR=${CMAKE_BINARY_DIR};ASAN_OPTIONS=detect_leaks=0;CONLAB_SANITIZED=$<BOOL:${CONLAB_SANITIZE}>")
endforeach()

# Browser tests: tests/browser/*.test.mjs, node's test runner driving Debian's Chromium.
if(CONLAB_BROWSER_TESTS AND CONLAB_WEB)
  find_program(NODE_EXECUTABLE node REQUIRED)
  file(GLOB CONLAB_BROWSER_TEST_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/browser/*.test.mjs)
  foreach(src ${CONLAB_BROWSER_TEST_FILES})
    get_filename_component(name ${src} NAME_WE)
    string(REPLACE ".test" "" name ${name})
    add_test(NAME browser_${name} COMMAND ${NODE_EXECUTABLE} --test ${src}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(browser_${name} PROPERTIES TIMEOUT 600
      ENVIRONMENT "CONLAB_BIN=$<TARGET_FILE:conlab>;CONLAB_BUILD_DIR=${CMAKE_BINARY_DIR};NODE_PATH=${CMAKE_SOURCE_DIR}/web/node_modules")
  endforeach()
endif()

# The compose file (dashboard + demo target) must stay valid: docker-compose (v1, Debian's)
# validates it without a Docker engine.
find_program(DOCKER_COMPOSE docker-compose)
if(DOCKER_COMPOSE)
  add_test(NAME compose_config COMMAND ${DOCKER_COMPOSE} -f ${CMAKE_SOURCE_DIR}/docker-compose.yml config -q)
else()
  add_test(NAME compose_config COMMAND ${CMAKE_COMMAND} -E echo "docker-compose is missing: run scripts/setup.sh --test")
  set_tests_properties(compose_config PROPERTIES WILL_FAIL ON)
endif()

# The layering of backend/ (see scripts/check_layers.py and the README's Layout section).
add_test(NAME layers COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/check_layers.py)
