#include "http.hpp"

#include <curl/curl.h>

#include <mutex>

namespace steer::mesh {

void CurlDeleter::operator()(void *h) const
{
	curl_easy_cleanup(static_cast<CURL *>(h));
}

void http_global_init()
{
	static std::once_flag once;
	std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {

struct Headers {
	curl_slist *list = nullptr;
	~Headers() { curl_slist_free_all(list); }
};

struct StreamCtx {
	const std::function<bool(std::string_view)> *on_data;
	const std::atomic<bool> *stop;
	bool ended_by_us = false;
};

size_t append_body(char *p, size_t size, size_t n, void *user)
{
	static_cast<std::string *>(user)->append(p, size * n);
	return size * n;
}

size_t stream_body(char *p, size_t size, size_t n, void *user)
{
	auto *ctx = static_cast<StreamCtx *>(user);
	if (!(*ctx->on_data)(std::string_view(p, size * n))) {
		ctx->ended_by_us = true;
		return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
	}
	return size * n;
}

int stream_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t)
{
	auto *ctx = static_cast<StreamCtx *>(user);
	if (ctx->stop->load()) {
		ctx->ended_by_us = true;
		return 1;  // aborts (CURLE_ABORTED_BY_CALLBACK)
	}
	return 0;
}

// A handle set up for a JSON POST of body to url.
Result<CurlPtr> post_handle(const std::string &url, const std::string &body, Headers &h)
{
	CurlPtr c(curl_easy_init());
	if (!c)
		return plain_error("curl_easy_init failed", url);
	CURL *e = c.get();
	h.list = curl_slist_append(h.list, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_URL, url.c_str());
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h.list);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body.c_str());
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	return c;
}

} // namespace

Result<std::string> http_post(const std::string &url, const std::string &body, long timeout_ms)
{
	Headers h;
	auto c = post_handle(url, body, h);
	if (!c)
		return c.error();
	std::string answer;
	curl_easy_setopt(c->get(), CURLOPT_WRITEFUNCTION, append_body);
	curl_easy_setopt(c->get(), CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(c->get(), CURLOPT_TIMEOUT_MS, timeout_ms);
	CURLcode rc = curl_easy_perform(c->get());
	if (rc != CURLE_OK)
		return plain_error(std::string("POST failed: ") + curl_easy_strerror(rc), url);
	return answer;
}

Status http_stream(const std::string &url, const std::string &body,
	const std::function<bool(std::string_view)> &on_data, const std::atomic<bool> &stop)
{
	Headers h;
	auto c = post_handle(url, body, h);
	if (!c)
		return c.error();
	StreamCtx ctx{&on_data, &stop};
	CURL *e = c->get();
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, stream_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &ctx);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, stream_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, &ctx);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	// A watch is quiet for as long as nothing changes: no overall timeout,
	// but keepalive probes notice a server that vanished without a FIN.
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 5L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 2L);
	CURLcode rc = curl_easy_perform(e);
	if (ctx.ended_by_us)
		return {};
	if (rc != CURLE_OK)
		return plain_error(std::string("watch stream failed: ") + curl_easy_strerror(rc), url);
	return plain_error("watch stream ended by the server", url);
}

} // namespace steer::mesh
