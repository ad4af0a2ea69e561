#include "files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "fd.hpp"

namespace steer::mesh {

namespace {

Status write_all(int fd, const std::string &text, const std::string &path)
{
	size_t off = 0;
	while (off < text.size()) {
		ssize_t n = write(fd, text.data() + off, text.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sys_error(errno, "write", path);
		off += static_cast<size_t>(n);
	}
	return {};
}

struct DirCloser {
	void operator()(DIR *d) const { closedir(d); }
};

} // namespace

Status write_atomic(const std::string &dir, const ConfFile &f)
{
	std::string path = dir + "/" + f.name;
	std::string tmp = dir + "/." + f.name + ".tmp";
	// The temp name starts with '.': the daemons' include globs (*.conf)
	// never pick it up half-written.
	Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, f.secret ? 0600 : 0644));
	if (!fd.valid())
		return sys_error(errno, "create", tmp);
	if (fchmod(fd.get(), f.secret ? 0600 : 0644) < 0)
		return sys_error(errno, "chmod", tmp);
	if (auto s = write_all(fd.get(), f.text, tmp); !s) {
		unlink(tmp.c_str());
		return s;
	}
	if (fsync(fd.get()) < 0) {
		int err = errno;
		unlink(tmp.c_str());
		return sys_error(err, "fsync", tmp);
	}
	fd.reset();
	if (rename(tmp.c_str(), path.c_str()) < 0) {
		int err = errno;
		unlink(tmp.c_str());
		return sys_error(err, "rename", tmp + " -> " + path);
	}
	return {};
}

Status remove_file(const std::string &dir, const std::string &name)
{
	std::string path = dir + "/" + name;
	if (unlink(path.c_str()) < 0 && errno != ENOENT)
		return sys_error(errno, "unlink", path);
	return {};
}

Result<std::map<std::string, std::string>> read_our_files(const std::string &dir)
{
	std::map<std::string, std::string> files;
	std::unique_ptr<DIR, DirCloser> d(opendir(dir.c_str()));
	if (!d) {
		if (errno == ENOENT)
			return files;
		return sys_error(errno, "opendir", dir);
	}
	while (dirent *e = readdir(d.get())) {
		std::string name = e->d_name;
		if (peer_of_file(name).empty())
			continue;
		std::ifstream in(dir + "/" + name);
		if (!in)
			return sys_error(errno, "read", dir + "/" + name);
		std::ostringstream text;
		text << in.rdbuf();
		files[name] = text.str();
	}
	return files;
}

} // namespace steer::mesh
