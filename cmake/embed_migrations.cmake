# Writes OUT: a C file holding every DIR/NNNN_name.sql as {version, name, sql}, sorted by name.
file(GLOB files ${DIR}/*.sql)
list(SORT files)
set(body "")
set(count 0)
foreach(f ${files})
  get_filename_component(name ${f} NAME)
  string(REGEX MATCH "^([0-9]+)_" m ${name})
  if(NOT m)
    message(FATAL_ERROR "migration ${name}: name must start with NNNN_")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "static const char m${count}[] = {${hex} 0};\n")
  list(APPEND entries "{${version}, \"${name}\", m${count}}")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "no migrations in ${DIR}")
endif()
list(JOIN entries ",\n    " joined)
file(WRITE ${OUT}.tmp "/* Generated from the files in migrations/ by cmake/embed_migrations.cmake. */
#include \"migrations.h\"
${body}
const struct migration conlab_migrations[] = {
    ${joined}
};
const int conlab_migrations_count = ${count};
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
