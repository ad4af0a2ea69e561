// conf_dir files of ours (render.hpp's file_prefix): atomic writes (temp
// file in the same directory, fsync, rename: the daemon never reads half a
// file), removal, and the listing the plan is made against.
#pragma once

#include <map>
#include <string>

#include "render.hpp"
#include "result.hpp"

namespace steer::mesh {

// Writes dir/f.name atomically with mode 0600 (secret) or 0644.
[[nodiscard]] Status write_atomic(const std::string &dir, const ConfFile &f);
// Removes dir/name; an absent file is success.
[[nodiscard]] Status remove_file(const std::string &dir, const std::string &name);
// Every file of ours in dir: name -> text. A missing dir is empty.
[[nodiscard]] Result<std::map<std::string, std::string>> read_our_files(const std::string &dir);

} // namespace steer::mesh
