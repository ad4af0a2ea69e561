// Checks of the config against the machine, before anything is touched:
// router namespaces exist, public interfaces exist and carry their public
// addresses. A failure is a config error (exit 2) at the offending value.
#pragma once

#include "config.hpp"
#include "result.hpp"

namespace steer {

Status validate_environment(const config::Config &cfg);

} // namespace steer
