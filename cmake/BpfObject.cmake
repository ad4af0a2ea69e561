# bpf_object(NAME SOURCE [SKELETON SKEL_NAME] [CLANG_FLAGS FLAG...])
# Compiles SOURCE with clang for the BPF target (with a depfile, so any
# included header triggers a rebuild), then generates the skeleton with
# bpftool. Creates an INTERFACE target NAME_skel whose include directory
# holds the skeleton, and the variable NAME_OBJECT with the object path.
#
# SKELETON names the skeleton (its header, struct and functions; default
# NAME). A second build of one source under another NAME with the same
# SKELETON (e.g. CLANG_FLAGS -DSTEER_BUILD_VARIANT=1) gets a directory of
# its own, so each user includes the same header name and links the build
# it wants. CLANG_FLAGS are added to clang's command line.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

function(bpf_object name source)
	cmake_parse_arguments(PARSE_ARGV 2 arg "" "SKELETON" "CLANG_FLAGS")
	set(skel_name ${name})
	set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf_gen)
	set(skel_dir ${out_dir})
	if(arg_SKELETON AND NOT arg_SKELETON STREQUAL name)
		set(skel_name ${arg_SKELETON})
		set(skel_dir ${out_dir}/${name})
	endif()
	set(obj ${out_dir}/${name}.bpf.o)
	set(skel ${skel_dir}/${skel_name}.skel.h)
	set(dep ${out_dir}/${name}.bpf.d)
	execute_process(COMMAND uname -m OUTPUT_VARIABLE machine OUTPUT_STRIP_TRAILING_WHITESPACE)
	set(multiarch_inc /usr/include/${machine}-linux-gnu)
	add_custom_command(
		OUTPUT ${obj}
		COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
		COMMAND ${BPF_CLANG} -g -O2 -target bpf -Wall -Werror ${arg_CLANG_FLAGS}
			-I${CMAKE_CURRENT_SOURCE_DIR} -I${multiarch_inc}
			-MD -MF ${dep} -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${obj}
		DEPFILE ${dep}
		DEPENDS ${source}
		COMMENT "BPF ${source} (${name})"
		VERBATIM)
	add_custom_command(
		OUTPUT ${skel}
		COMMAND ${CMAKE_COMMAND} -E make_directory ${skel_dir}
		COMMAND ${BPFTOOL} gen skeleton ${obj} name ${skel_name} > ${skel}
		DEPENDS ${obj}
		COMMENT "bpftool skeleton ${skel_name} (${name})"
		VERBATIM)
	add_custom_target(${name}_gen DEPENDS ${skel} ${obj})
	add_library(${name}_skel INTERFACE)
	add_dependencies(${name}_skel ${name}_gen)
	target_include_directories(${name}_skel INTERFACE ${skel_dir} ${CMAKE_CURRENT_SOURCE_DIR})
	set(${name}_OBJECT ${obj} PARENT_SCOPE)
endfunction()
