# Using the library from cargo's target directory, uninstalled (the C tests,
# examples-c built in the tree). The shared library's soname is
# libisula_registry.so.<major>, but cargo writes only libisula_registry.so:
# isula_registry_build_tree_link(DIR) puts the soname's symlink beside it,
# so that a program linked there with an RPATH to DIR finds it at run time.
get_filename_component(_isula_registry_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
file(STRINGS "${_isula_registry_root}/Cargo.toml" _isula_registry_version_line
     REGEX "^version = \"[0-9]+\\." LIMIT_COUNT 1)
string(REGEX REPLACE "^version = \"([0-9]+)\\..*" "\\1" ISULA_REGISTRY_SOVERSION
       "${_isula_registry_version_line}")

function(isula_registry_build_tree_link dir)
  file(MAKE_DIRECTORY "${dir}")
  # dangling until cargo has built the library; that is fine
  file(CREATE_LINK libisula_registry.so "${dir}/libisula_registry.so.${ISULA_REGISTRY_SOVERSION}"
       SYMBOLIC)
endfunction()
