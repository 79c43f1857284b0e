# Unit tests: one runner binary, one ctest entry per BERTH_TEST.
file(GLOB UNIT_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/unit/*.c)
add_executable(berth-unit ${UNIT_SOURCES})
target_include_directories(berth-unit PRIVATE ${PROJECT_SOURCE_DIR}/core
                                              ${PROJECT_SOURCE_DIR}/tests/unit)
target_link_libraries(berth-unit PRIVATE berthcore berth-plugin-common)
target_compile_definitions(berth-unit PRIVATE
  BERTH_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
  BERTH_BINARY_DIR="${PROJECT_BINARY_DIR}")

foreach(src ${UNIT_SOURCES})
  file(STRINGS ${src} lines REGEX "^BERTH_TEST\\([a-z0-9_]+\\)")
  get_filename_component(area ${src} NAME_WE)
  string(REGEX REPLACE "^test-" "" area ${area})
  foreach(line ${lines})
    string(REGEX REPLACE "^BERTH_TEST\\(([a-z0-9_]+)\\).*" "\\1" name ${line})
    add_test(NAME unit.${area}.${name} COMMAND berth-unit ${name})
    set_tests_properties(unit.${area}.${name} PROPERTIES LABELS unit TIMEOUT 120)
  endforeach()
endforeach()

# Helper programs the tests drive (crash-recovery writer and the like).
file(GLOB TEST_HELPERS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/helpers/*.c)
foreach(src ${TEST_HELPERS})
  get_filename_component(hname ${src} NAME_WE)
  add_executable(${hname} ${src})
  target_include_directories(${hname} PRIVATE ${PROJECT_SOURCE_DIR}/core)
  target_link_libraries(${hname} PRIVATE berthcore)
endforeach()

# busted specs for the Lua controllers, against a fake client.
file(GLOB LUA_SPECS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/lua/*_spec.lua)
foreach(spec ${LUA_SPECS})
  get_filename_component(sname ${spec} NAME_WE)
  # The search path goes through LUA_PATH: CMake would split a --lpath
  # argument at its semicolons, and busted --lua re-runs itself through the
  # shell, which would too.
  add_test(NAME lua.${sname}
    COMMAND busted --lua=lua5.4 -o TAP ${spec}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(lua.${sname} PROPERTIES LABELS lua TIMEOUT 120
    ENVIRONMENT "LUA_PATH=${PROJECT_SOURCE_DIR}/controllers/?.lua\\;${PROJECT_SOURCE_DIR}/controllers/lib/?.lua\\;${PROJECT_SOURCE_DIR}/tests/lua/?.lua\\;\\;")
endforeach()

# End-to-end tests: each starts real berthd processes on loopback with a temp
# data dir and always stops them. Python 3 standard library only.
file(GLOB E2E_TESTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/e2e/test_*.py)
foreach(t ${E2E_TESTS})
  get_filename_component(tname ${t} NAME_WE)
  string(REGEX REPLACE "^test_" "" tname ${tname})
  add_test(NAME e2e.${tname} COMMAND python3 ${t})
  set_tests_properties(e2e.${tname} PROPERTIES LABELS e2e TIMEOUT 600
    ENVIRONMENT "BERTH_BUILD_DIR=${PROJECT_BINARY_DIR};BERTH_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endforeach()

# Benchmarks: tests/bench/bench-NAME.c builds bench-NAME, run by
# scripts/bench NAME. Never part of ctest.
file(GLOB BENCH_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/bench/bench-*.c)
foreach(src ${BENCH_SOURCES})
  get_filename_component(bname ${src} NAME_WE)
  add_executable(${bname} ${src} ${PROJECT_SOURCE_DIR}/tests/bench/benchlib.c)
  target_include_directories(${bname} PRIVATE ${PROJECT_SOURCE_DIR}/core
                                              ${PROJECT_SOURCE_DIR}/tests/bench)
  target_link_libraries(${bname} PRIVATE berthcore)
endforeach()
