/* A small TAP harness: every test runs in its own forked child with a timeout, because a
 * seccomp filter cannot be removed and a broken supervisor would hang the caller. */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*tap_fn)(void);
void tap_register(const char *name, tap_fn fn, unsigned timeout_s);
int tap_main(int argc, char **argv);
/* Ends the current test as skipped (exit 77 of the child). */
_Noreturn void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void tap_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define TEST_TIMEOUT(name, secs)                                                                   \
	static void test_##name(void);                                                             \
	__attribute__((constructor)) static void tap_reg_##name(void)                              \
	{                                                                                          \
		tap_register(#name, test_##name, secs);                                            \
	}                                                                                          \
	static void test_##name(void)
#define TEST(name) TEST_TIMEOUT(name, 30)

#define ASSERT_TRUE(x)                                                                             \
	do {                                                                                       \
		if (!(x))                                                                          \
			tap_fail(__FILE__, __LINE__, "assertion failed: %s (errno %d %s)", #x, errno, \
				 strerror(errno));                                                 \
	} while (0)
#define ASSERT_EQ(a, b)                                                                            \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b)                                                                      \
			tap_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld (errno %d %s)", #a, #b, \
				 _a, _b, errno, strerror(errno));                                  \
	} while (0)
#define ASSERT_NE(a, b)                                                                            \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a == _b)                                                                      \
			tap_fail(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, _a);          \
	} while (0)
#define ASSERT_GE(a, b)                                                                            \
	do {                                                                                       \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a < _b)                                                                       \
			tap_fail(__FILE__, __LINE__, "%s >= %s: %lld < %lld (errno %d %s)", #a, #b, \
				 _a, _b, errno, strerror(errno));                                  \
	} while (0)
#define ASSERT_STREQ(a, b)                                                                         \
	do {                                                                                       \
		const char *_a = (a), *_b = (b);                                                   \
		if (!_a || !_b || strcmp(_a, _b) != 0)                                             \
			tap_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,        \
				 _a ? _a : "(null)", _b ? _b : "(null)");                          \
	} while (0)
/* A call that must fail with errno e. */
#define ASSERT_ERRNO(call, e)                                                                      \
	do {                                                                                       \
		errno = 0;                                                                         \
		long _r = (long)(call);                                                            \
		if (_r != -1 || errno != (e))                                                      \
			tap_fail(__FILE__, __LINE__, "%s: want -1/%s, got %ld/%s", #call,          \
				 strerrorname_np(e), _r, errno ? strerrorname_np(errno) : "0");    \
	} while (0)
