# The page's assets: `npm ci` in web/ (chart library from npm, pinned by web/package-lock.json),
# then web/*.{html,js,css} and the chart library copied to <build>/web, which `conlab serve`
# serves (it looks next to its own binary).
find_program(NPM_EXECUTABLE npm REQUIRED)
set(WEB_SRC ${CMAKE_SOURCE_DIR}/web)
set(WEB_OUT ${CMAKE_BINARY_DIR}/web)
set(NPM_STAMP ${WEB_SRC}/node_modules/.package-lock.json)

add_custom_command(
  OUTPUT ${NPM_STAMP}
  COMMAND ${NPM_EXECUTABLE} ci --no-audit --no-fund --loglevel=error
  WORKING_DIRECTORY ${WEB_SRC}
  DEPENDS ${WEB_SRC}/package.json ${WEB_SRC}/package-lock.json
  COMMENT "npm ci (web/)")

file(GLOB WEB_FILES CONFIGURE_DEPENDS ${WEB_SRC}/*.html ${WEB_SRC}/*.js ${WEB_SRC}/*.css
     ${WEB_SRC}/*.svg)
set(WEB_COPIED "")
foreach(f ${WEB_FILES})
  get_filename_component(n ${f} NAME)
  add_custom_command(OUTPUT ${WEB_OUT}/${n}
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${f} ${WEB_OUT}/${n}
    DEPENDS ${f})
  list(APPEND WEB_COPIED ${WEB_OUT}/${n})
endforeach()

add_custom_command(
  OUTPUT ${WEB_OUT}/vendor/chart.umd.js
  COMMAND ${CMAKE_COMMAND} -E make_directory ${WEB_OUT}/vendor
  COMMAND ${CMAKE_COMMAND} -E copy_if_different
          ${WEB_SRC}/node_modules/chart.js/dist/chart.umd.js ${WEB_OUT}/vendor/chart.umd.js
  DEPENDS ${NPM_STAMP}
  COMMENT "Copying the chart library to ${WEB_OUT}/vendor")

add_custom_target(web_assets ALL DEPENDS ${WEB_COPIED} ${WEB_OUT}/vendor/chart.umd.js)
