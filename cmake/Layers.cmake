# Layers the build enforces (ARCHITECTURE.md, "Layers"). Each folder of
# server/ is one static library that links only the layers below it, and
# each library compiles against stand-ins for what it may not include: every
# header of a layer above it, and (by its place) libpqxx or gRPC. A stand-in
# is a header of the same path that stops the compile with a message, found
# before the real one on the include path; so an upward include is a compile
# error naming the header, not a review comment.

set(AVES_BLOCKED_DIR ${CMAKE_BINARY_DIR}/blocked)

# aves_block_tree(NAME ROOT PATTERN MESSAGE): stand-ins for every file that
# matches PATTERN under ROOT, at the same relative paths, in tree NAME.
function(aves_block_tree name root pattern message)
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE ${root} ${root}/${pattern})
  foreach(header ${headers})
    set(stub ${AVES_BLOCKED_DIR}/${name}/${header})
    set(text "#error \"${header}: ${message} (ARCHITECTURE.md, Layers)\"\n")
    if(EXISTS ${stub})
      file(READ ${stub} old)
      if(old STREQUAL text)
        continue()
      endif()
    endif()
    file(WRITE ${stub} "${text}")
  endforeach()
endfunction()

foreach(folder common observability auth config db store bulk handlers app)
  aves_block_tree(${folder} ${CMAKE_SOURCE_DIR} "server/${folder}/*.h"
    "a layer above this one: layers only call downward")
endforeach()
find_path(AVES_PQXX_ROOT pqxx/pqxx REQUIRED)
aves_block_tree(pqxx ${AVES_PQXX_ROOT} "pqxx/*"
  "libpqxx stays in server/db, server/store and server/bulk")
find_path(AVES_GRPC_ROOT grpcpp/grpcpp.h REQUIRED)
foreach(dir grpcpp grpc grpc++)
  aves_block_tree(grpc ${AVES_GRPC_ROOT} "${dir}/*"
    "gRPC stays in server/handlers, server/app and the client")
endforeach()

# aves_blocks(TARGET TREE...): TARGET's own sources see the stand-ins of TREEs.
function(aves_blocks target)
  foreach(tree ${ARGN})
    target_include_directories(${target} BEFORE PRIVATE ${AVES_BLOCKED_DIR}/${tree})
  endforeach()
endfunction()

# aves_layer(FOLDER [EXCLUDE file...] [EXTRA_SOURCES file...]
#            [DEPS lib...] [PRIVATE_DEPS lib...] [BLOCKS tree...]):
# the library aves_FOLDER of server/FOLDER/*.cc.
function(aves_layer folder)
  cmake_parse_arguments(LAYER "" "" "EXCLUDE;EXTRA_SOURCES;DEPS;PRIVATE_DEPS;BLOCKS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/server/${folder}/*.cc)
  foreach(excluded ${LAYER_EXCLUDE})
    list(REMOVE_ITEM sources ${CMAKE_SOURCE_DIR}/server/${folder}/${excluded})
  endforeach()
  add_library(aves_${folder} STATIC ${sources} ${LAYER_EXTRA_SOURCES})
  target_include_directories(aves_${folder} PUBLIC ${CMAKE_SOURCE_DIR})
  target_link_libraries(aves_${folder} PUBLIC ${LAYER_DEPS}
                        PRIVATE ${LAYER_PRIVATE_DEPS} aves_warnings)
  aves_blocks(aves_${folder} ${LAYER_BLOCKS})
  set_property(GLOBAL PROPERTY AVES_LAYER_BLOCKS_${folder} ${LAYER_BLOCKS})
endfunction()

# aves_layering_test(FOLDER INCLUDE MESSAGE): a test that a source of
# server/FOLDER which includes INCLUDE fails to compile with MESSAGE (the
# stand-in's), so the rule above is checked, not assumed.
function(aves_layering_test folder include message)
  string(MAKE_C_IDENTIFIER "${folder}_${include}" name)
  set(source ${CMAKE_BINARY_DIR}/layering/${name}.cc)
  file(WRITE ${source} "// server/${folder} may not include this.\n#include ${include}\n")
  add_library(layering_${name} OBJECT EXCLUDE_FROM_ALL ${source})
  target_include_directories(layering_${name} PRIVATE ${CMAKE_SOURCE_DIR})
  get_property(blocks GLOBAL PROPERTY AVES_LAYER_BLOCKS_${folder})
  aves_blocks(layering_${name} ${blocks})
  add_test(NAME layering_${name}
           COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target layering_${name})
  set_tests_properties(layering_${name} PROPERTIES LABELS unit
                       PASS_REGULAR_EXPRESSION "${message}")
endfunction()
