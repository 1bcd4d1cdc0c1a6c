# The ThreadSanitizer build (-DCONLAB_TSAN=ON) runs only what has threads: the C tests of the
# store and the target, and the integration tests of the dashboard (civetweb's threads, the
# runner, streams, stops, the shards' coordinator) and the faults in every mode (threads and
# async included; test_run is left out: its timing bounds are for an uninstrumented build).
# Every conlab process writes its reports under tsan-reports/ and exits 66 on the first one;
# tsan_reports, last, fails when any report was written (also by a job child or a worker, whose
# exit status a test may not see).
set(CONLAB_TSAN_ONLY test_store test_target test_target_faults test_target_tls test_target_h2
    it_test_serve_lifecycle it_test_serve_queue it_test_api
    it_test_dashboard_limits it_test_browser_safety it_test_faults it_test_deadlines it_test_framing
    it_test_coordinator)
if(CONLAB_TSAN)
  set(TSAN_DIR ${CMAKE_BINARY_DIR}/tsan-reports)
  set(CONLAB_TSAN_ENV "TSAN_OPTIONS=halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=${CMAKE_SOURCE_DIR}/tests/tsan.supp log_path=${TSAN_DIR}/report")
  add_test(NAME tsan_clean COMMAND ${CMAKE_COMMAND} -E rm -rf ${TSAN_DIR})
  add_test(NAME tsan_reports COMMAND sh -c "if ls ${TSAN_DIR}/report* >/dev/null 2>&1; then cat ${TSAN_DIR}/report*; exit 1; fi")
  set_tests_properties(tsan_clean PROPERTIES FIXTURES_SETUP tsan)
  set_tests_properties(tsan_reports PROPERTIES FIXTURES_CLEANUP tsan)
endif()

# How each test file runs is marked in the file itself, on a line of its own (in a comment at the
# start of the line) that reads `conlab-test: WORD...`, so that a new file picks its kind without
# editing this file. In a Python file, an indented mark inside a TestCase class applies to that
# class only (each class of a file with several is its own ctest entry):
#   serial  it asserts a time (wall, latency, a deadline): it runs alone (RUN_SERIAL), never
#           beside another timed test; scripts/test.sh runs them one at a time in the
#           foreground while the untimed tests run beside them at nice 19;
#   quiet   it measures how many cores the machine gives (the GIL): a timed test that
#           scripts/test.sh runs last, with nothing at all beside it;
#   static  it checks the sources, not a build (layers, the container files): it runs in the
#           normal build only, not again in the sanitized ones;
#   volume  its point is size (millions of rows, the memory of big answers): it runs in the
#           normal build only; the sanitized builds run the same code paths at unit size
#           (test_store, the API tests), where a memory error would show as well;
#   once    what it adds is outside conlab (Slurm's daemons, sbatch, scancel): it runs in the
#           normal build only; the conlab code it drives (--shard, --join, merge) runs under the
#           sanitizers in test_merge and test_coordinator.
# Every test also gets a label of its kind (unit, integration, browser, static, fuzz) and the
# label `serial` when marked so: `ctest -L serial`, `ctest -LE browser`.
function(conlab_test_marks name src kind)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  file(STRINGS ${src} marks REGEX "^(//|#|/\\*) conlab-test:")
  conlab_apply_marks(${name} "${marks}" ${kind})
endfunction()

# Applies the marks in the string `marks` (the mark lines, joined) to test `name` of kind `kind`.
function(conlab_apply_marks name marks kind)
  set(labels ${kind})
  if(marks MATCHES "conlab-test:[^;]*serial")
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
    list(APPEND labels serial)
  endif()
  if(marks MATCHES "conlab-test:[^;]*quiet")
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
    list(APPEND labels serial quiet)
  endif()
  if(marks MATCHES "conlab-test:[^;]*static")
    list(APPEND labels static)
  endif()
  if(marks MATCHES "conlab-test:[^;]*volume")
    list(APPEND labels volume)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}")
endfunction()

# A file marked static, volume or once, in a sanitized build: not registered.
function(conlab_normal_build_only src out)
  set(${out} FALSE PARENT_SCOPE)
  if(CONLAB_SANITIZE OR CONLAB_TSAN)
    file(STRINGS ${src} marks REGEX "conlab-test:")
    if(marks MATCHES "conlab-test:[^;]*(static|volume|once)")
      set(${out} TRUE PARENT_SCOPE)
    endif()
  endif()
endfunction()

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
  if(unit STREQUAL "store" OR unit STREQUAL "target" OR unit STREQUAL "dashboard" OR
     unit STREQUAL "engine")
    set(layer ${unit})
  endif()
  target_link_libraries(${name} PRIVATE conlab_${layer})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/backend/${layer})
  conlab_normal_build_only(${src} skip)
  if((CONLAB_TSAN AND NOT name IN_LIST CONLAB_TSAN_ONLY) OR skip)
    continue()
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 120)
  conlab_test_marks(${name} ${src} unit)
  if(CONLAB_TSAN)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${CONLAB_TSAN_ENV}" FIXTURES_REQUIRED tsan)
  endif()
endforeach()

# Integration tests: tests/integration/test_*.py (Python's unittest) start the real binary on
# loopback. CONLAB_BIN tells them which binary. A file with one TestCase class is one ctest entry,
# it_FILE; a file with several gets one entry per class, it_FILE.CLASS, so that they can run side by
# side (the file's marks apply to each). The read-load test runs 10 s here (3 s in the sanitized
# builds; 30 s when tests/integration/test_load.py is run by hand, as a measurement).
find_package(Python3 COMPONENTS Interpreter REQUIRED)
if(CONLAB_SANITIZE OR CONLAB_TSAN)
  set(CONLAB_LOAD_SECONDS 3)
else()
  set(CONLAB_LOAD_SECONDS 10)
endif()
file(GLOB CONLAB_PY_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/test_*.py)
foreach(src ${CONLAB_PY_TESTS})
  get_filename_component(name ${src} NAME_WE)
  conlab_normal_build_only(${src} skip)
  if((CONLAB_TSAN AND NOT it_${name} IN_LIST CONLAB_TSAN_ONLY) OR skip)
    continue()
  endif()
  # The file's mark lines (a `# conlab-test:` at the start of a line) apply to every class; an
  # indented one, inside a class, to that class only.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${src})
  file(STRINGS ${src} lines REGEX "^(class [A-Za-z0-9_]+\\(([A-Za-z0-9_]+, )?unittest\\.TestCase\\)|# conlab-test:|[ ]+# conlab-test:)")
  set(cases "")
  set(file_marks "")
  foreach(line ${lines})
    if(line MATCHES "^class ([A-Za-z0-9_]+)")
      set(cls ${CMAKE_MATCH_1})
      list(APPEND cases ${cls})
      set(marks_${cls} "")
    elseif(line MATCHES "^#")
      string(APPEND file_marks " ${line}")
    elseif(cases)
      string(APPEND marks_${cls} " ${line}")
    endif()
  endforeach()
  list(LENGTH cases ncases)
  if(ncases LESS 2)
    set(marks_- "")
    if(ncases EQUAL 1)
      set(marks_- "${marks_${cases}}")
    endif()
    set(cases "-")
  endif()
  foreach(cls ${cases})
    if(cls STREQUAL "-")
      set(test it_${name})
      set(what ${name})
    else()
      set(test it_${name}.${cls})
      set(what ${name}.${cls})
    endif()
    add_test(NAME ${test} COMMAND ${Python3_EXECUTABLE} -m unittest -v ${what}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/integration)
    conlab_apply_marks(${test} "${file_marks} ${marks_${cls}}" integration)
    set_tests_properties(${test} PROPERTIES TIMEOUT 600
      ENVIRONMENT "CONLAB_BIN=$<TARGET_FILE:conlab>;CONLAB_SOURCE_DIR=${CMAKE_SOURCE_DIR};CONLAB_BUILD_DIR=${CMAKE_BINARY_DIR};ASAN_OPTIONS=detect_leaks=0;CONLAB_LOAD_SECONDS=${CONLAB_LOAD_SECONDS};CONLAB_SANITIZED=$<OR:$<BOOL:${CONLAB_SANITIZE}>,$<BOOL:${CONLAB_TSAN}>>;${CONLAB_TSAN_ENV}")
    if(CONLAB_TSAN)
      set_tests_properties(${test} PROPERTIES FIXTURES_REQUIRED tsan)
    endif()
  endforeach()
endforeach()

# Browser tests: tests/browser/*.test.mjs, node's test runner driving Debian's Chromium. One
# Chromium serves them all: the fixture browser_server starts it before the first browser file and
# stops it after the last (tests/browser/browser-server.mjs); each file connects to it through the
# file CONLAB_BROWSER_SERVER names and opens its own contexts. `ctest -R browser_talk` brings the
# fixture along.
if(CONLAB_BROWSER_TESTS AND CONLAB_WEB AND NOT CONLAB_TSAN)
  find_program(NODE_EXECUTABLE node REQUIRED)
  set(CONLAB_BROWSER_SERVER ${CMAKE_BINARY_DIR}/browser-server.json)
  set(CONLAB_BROWSER_ENV "CONLAB_BIN=$<TARGET_FILE:conlab>;CONLAB_BUILD_DIR=${CMAKE_BINARY_DIR};NODE_PATH=${CMAKE_SOURCE_DIR}/web/node_modules;CONLAB_BROWSER_SERVER=${CONLAB_BROWSER_SERVER}")
  foreach(step start stop)
    add_test(NAME browser_server_${step} COMMAND ${NODE_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/browser/browser-server.mjs
             ${step} ${CONLAB_BROWSER_SERVER} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(browser_server_${step} PROPERTIES TIMEOUT 90 LABELS browser ENVIRONMENT "${CONLAB_BROWSER_ENV}")
  endforeach()
  set_tests_properties(browser_server_start PROPERTIES FIXTURES_SETUP browser_server)
  set_tests_properties(browser_server_stop PROPERTIES FIXTURES_CLEANUP browser_server)
  file(GLOB CONLAB_BROWSER_TEST_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/browser/*.test.mjs)
  foreach(src ${CONLAB_BROWSER_TEST_FILES})
    get_filename_component(name ${src} NAME_WE)
    string(REPLACE ".test" "" name ${name})
    add_test(NAME browser_${name} COMMAND ${NODE_EXECUTABLE} --test ${src}
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
    set_tests_properties(browser_${name} PROPERTIES TIMEOUT 600 FIXTURES_REQUIRED browser_server
      ENVIRONMENT "${CONLAB_BROWSER_ENV}")
    conlab_test_marks(browser_${name} ${src} browser)
  endforeach()
endif()

# Static checks of the sources: the compose file and the layering, in the normal build only.
if(CONLAB_TSAN OR CONLAB_SANITIZE)
  return()
endif()
# The compose file (dashboard + demo target) must stay valid: docker-compose (v1, Debian's)
# validates it without a Docker engine.
find_program(DOCKER_COMPOSE docker-compose)
if(DOCKER_COMPOSE)
  # With a token set, as `docker-compose up` needs one (it_test_container checks the refusal
  # without it).
  add_test(NAME compose_config COMMAND ${DOCKER_COMPOSE} -f ${CMAKE_SOURCE_DIR}/docker-compose.yml config -q)
  set_tests_properties(compose_config PROPERTIES ENVIRONMENT "CONLAB_TOKEN=ci-token")
else()
  add_test(NAME compose_config COMMAND ${CMAKE_COMMAND} -E echo "docker-compose is missing: run scripts/setup.sh --test")
  set_tests_properties(compose_config PROPERTIES WILL_FAIL ON)
endif()

# The layering of backend/ (see scripts/check_layers.py and the README's Layout section).
add_test(NAME layers COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/check_layers.py)
set_tests_properties(compose_config layers PROPERTIES LABELS static)

# The Kubernetes manifests (deploy/kubernetes/) are validated offline against the Kubernetes
# schemas (npm kubernetes-models and yaml, pinned by tests/deploy/package-lock.json): validated,
# never run, as no cluster runs on the test machine.
find_program(NPM_EXECUTABLE npm)
find_program(NODE_EXECUTABLE node)
if(NPM_EXECUTABLE AND NODE_EXECUTABLE)
  set(DEPLOY_TESTS ${CMAKE_SOURCE_DIR}/tests/deploy)
  add_custom_command(
    OUTPUT ${DEPLOY_TESTS}/node_modules/.package-lock.json
    COMMAND ${NPM_EXECUTABLE} ci --no-audit --no-fund --loglevel=error
    WORKING_DIRECTORY ${DEPLOY_TESTS}
    DEPENDS ${DEPLOY_TESTS}/package.json ${DEPLOY_TESTS}/package-lock.json
    COMMENT "npm ci (tests/deploy/)")
  add_custom_target(deploy_test_deps ALL DEPENDS ${DEPLOY_TESTS}/node_modules/.package-lock.json)
  add_test(NAME k8s_manifests COMMAND ${NODE_EXECUTABLE} ${DEPLOY_TESTS}/validate_k8s.mjs)
else()
  add_test(NAME k8s_manifests COMMAND ${CMAKE_COMMAND} -E echo "node and npm are missing: run scripts/setup.sh --test")
  set_tests_properties(k8s_manifests PROPERTIES WILL_FAIL ON)
endif()
set_tests_properties(k8s_manifests PROPERTIES LABELS static)
