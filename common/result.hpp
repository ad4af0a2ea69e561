// Errors as values: what failed, on what, with which errno. g++ 12 has no
// std::expected, so Result<T> is a small variant-like type we can swap later.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

namespace steer {

struct Error {
	int err = 0;          // errno value, 0 when not a system error
	std::string what;     // the operation that failed ("attach tc filter")
	std::string on;       // the object it failed on ("eth0"), may be empty

	std::string message() const
	{
		std::string m = what;
		if (!on.empty())
			m += " (" + on + ")";
		if (err != 0)
			m += std::string(": ") + std::strerror(err);
		return m;
	}
};

inline Error sys_error(int err, std::string what, std::string on = {})
{
	return Error{err < 0 ? -err : err, std::move(what), std::move(on)};
}

inline Error plain_error(std::string what, std::string on = {})
{
	return Error{0, std::move(what), std::move(on)};
}

template <typename T>
class [[nodiscard]] Result {
public:
	Result(T value) : value_(std::move(value)) {}
	Result(Error error) : error_(std::move(error)) {}

	bool ok() const { return value_.has_value(); }
	explicit operator bool() const { return ok(); }
	T &value() { return *value_; }
	const T &value() const { return *value_; }
	T &operator*() { return *value_; }
	T *operator->() { return &*value_; }
	const Error &error() const { return error_; }

private:
	std::optional<T> value_;
	Error error_;
};

template <>
class [[nodiscard]] Result<void> {
public:
	Result() = default;
	Result(Error error) : error_(std::move(error)), failed_(true) {}

	bool ok() const { return !failed_; }
	explicit operator bool() const { return ok(); }
	const Error &error() const { return error_; }

private:
	Error error_;
	bool failed_ = false;
};

using Status = Result<void>;

} // namespace steer
