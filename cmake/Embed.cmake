# vigil_embed(target VAR file): generates a .cc that defines
#   extern const std::string_view VAR;
# holding the bytes of `file`, and adds it to `target`.
function(vigil_embed target var file)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/embed_${var}.cc")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} -DIN=${file} -DOUT=${out} -DVAR=${var} -P
            ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    DEPENDS "${file}" ${PROJECT_SOURCE_DIR}/cmake/EmbedFile.cmake
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()
