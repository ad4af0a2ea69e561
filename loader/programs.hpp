// Which program instances run: a newly loaded object replaces the pinned
// programs only when its code differs (program tag) or a pinned map they
// use was replaced by the load, so re-running `up` with the same build
// changes nothing, and a new build replaces in place.
#pragma once

#include <cstdint>
#include <string>

#include "bpf_steer.hpp"
#include "fd.hpp"
#include "result.hpp"

namespace steer {

struct ActiveProgram {
	Fd fd;
	uint32_t id = 0;
};

struct ActivePrograms {
	ActiveProgram ingress;
	ActiveProgram ret;
	bool replaced = false; // the new object's programs are now pinned
};

Result<ActivePrograms> activate_programs(SteerObject &obj, const std::string &pin_dir);

// Program id of an fd (0 on error).
uint32_t prog_id(int fd);

} // namespace steer
