# bpf_object(NAME SOURCE [HEADERS...])
# Compiles SOURCE with clang for the BPF target (with a depfile, so any
# included header triggers a rebuild), then generates NAME.skel.h with
# bpftool. Creates an INTERFACE target NAME_skel whose include directory
# holds the skeleton, and the variable NAME_OBJECT with the object path.
find_program(BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin REQUIRED)

function(bpf_object name source)
	set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/bpf_gen)
	set(obj ${out_dir}/${name}.bpf.o)
	set(skel ${out_dir}/${name}.skel.h)
	set(dep ${out_dir}/${name}.bpf.d)
	execute_process(COMMAND uname -m OUTPUT_VARIABLE machine OUTPUT_STRIP_TRAILING_WHITESPACE)
	set(multiarch_inc /usr/include/${machine}-linux-gnu)
	add_custom_command(
		OUTPUT ${obj}
		COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
		COMMAND ${BPF_CLANG} -g -O2 -target bpf -Wall -Werror
			-I${CMAKE_CURRENT_SOURCE_DIR} -I${multiarch_inc}
			-MD -MF ${dep} -c ${CMAKE_CURRENT_SOURCE_DIR}/${source} -o ${obj}
		DEPFILE ${dep}
		DEPENDS ${source}
		COMMENT "BPF ${source}"
		VERBATIM)
	add_custom_command(
		OUTPUT ${skel}
		COMMAND ${BPFTOOL} gen skeleton ${obj} name ${name} > ${skel}
		DEPENDS ${obj}
		COMMENT "bpftool skeleton ${name}"
		VERBATIM)
	add_custom_target(${name}_gen DEPENDS ${skel} ${obj})
	add_library(${name}_skel INTERFACE)
	add_dependencies(${name}_skel ${name}_gen)
	target_include_directories(${name}_skel INTERFACE ${out_dir} ${CMAKE_CURRENT_SOURCE_DIR})
	set(${name}_OBJECT ${obj} PARENT_SCOPE)
endfunction()
