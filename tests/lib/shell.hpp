// Shell helpers shared by the integration tests.
#pragma once

#include <string>

namespace steer::test {

// What `sh -c CMD` printed on stdout and stderr (empty when it cannot run).
std::string capture(const std::string &cmd);

} // namespace steer::test
