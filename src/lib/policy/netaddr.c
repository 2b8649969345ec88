/* Network addresses of the policy language: parsing ADDR and publish specs, printing them in
 * canonical form, and matching one address against one rule. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

static bool is_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Decimal number in [0, max] of at most 5 digits (so no overflow, no sign, no spaces). */
static int parse_uint(const char *s, size_t len, unsigned max, unsigned *ret)
{
	unsigned v = 0;

	if (!is_digits(s, len) || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "PORT" or "PORT-PORT". */
static int parse_ports(const char *s, struct policy_addr *a, char *why, size_t whylen)
{
	const char *dash = strchr(s, '-');
	unsigned lo, hi;

	if (!*s)
		return policy_why(why, whylen, "missing port after ':'");
	if (!dash) {
		if (parse_uint(s, strlen(s), 65535, &lo) < 0)
			return policy_why(why, whylen, "bad port '%s' (0-65535)", s);
		hi = lo;
	} else {
		if (parse_uint(s, dash - s, 65535, &lo) < 0 ||
		    parse_uint(dash + 1, strlen(dash + 1), 65535, &hi) < 0)
			return policy_why(why, whylen, "bad port range '%s' (PORT-PORT, 0-65535)",
					  s);
		if (lo > hi)
			return policy_why(why, whylen, "port range '%s' is reversed", s);
	}
	a->port_lo = (uint16_t)lo;
	a->port_hi = (uint16_t)hi;
	return 0;
}

static void mask_host_bits(uint8_t *ip, size_t n, unsigned prefix)
{
	for (size_t i = 0; i < n; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		ip[i] &= (uint8_t)(0xff00u >> keep);
	}
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	size_t full = prefix / 8;
	unsigned rest = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xff00u >> rest);
	return (a[full] & m) == (b[full] & m);
}

/* inet_pton on n bytes of s, which need not be NUL-terminated. */
static bool pton_n(int af, const char *s, size_t n, void *dst)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	return inet_pton(af, buf, dst) == 1;
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* "IP" or "IP/LEN" of family af, len bytes of s (not NUL-terminated). */
static int parse_cidr(int af, const char *s, size_t len, struct policy_addr *a, char *why,
		      size_t whylen)
{
	unsigned max = af == AF_INET ? 32 : 128;
	const char *slash = memchr(s, '/', len);
	size_t iplen = slash ? (size_t)(slash - s) : len;
	unsigned prefix = max;

	if (iplen == 0)
		return policy_why(why, whylen, "missing IP address");
	if (memchr(s, '%', iplen))
		return policy_why(why, whylen, "zone indexes ('%%') are not supported");
	if (!pton_n(af, s, iplen, a->ip))
		return policy_why(why, whylen, "'%.*s' is not an %s address%s", (int)iplen, s,
				  af == AF_INET ? "IPv4" : "IPv6",
				  af == AF_INET ? " (host names are not looked up)" : "");
	if (slash && parse_uint(slash + 1, len - iplen - 1, max, &prefix) < 0)
		return policy_why(why, whylen, "bad prefix length '%.*s' (0-%u)",
				  (int)(len - iplen), slash, max);
	mask_host_bits(a->ip, af == AF_INET ? 4 : 16, prefix);
	a->prefix = (uint8_t)prefix;
	a->type = af == AF_INET ? ADDR_IP4 : ADDR_IP6;

	/*
	 * An address in ::ffff:0:0/96 is matched as the IPv4 address it carries (see
	 * policy_net_decide), so a rule written that way would never match: read it as IPv4.
	 */
	if (af == AF_INET6 && prefix >= 96 && memcmp(a->ip, v4mapped_prefix, 12) == 0) {
		memmove(a->ip, a->ip + 12, 4);
		memset(a->ip + 4, 0, 12);
		a->prefix = (uint8_t)(prefix - 96);
		a->type = ADDR_IP4;
	}
	return 0;
}

int policy_addr_parse(const char *in, struct policy_addr *ret, char *why, size_t whylen)
{
	struct policy_addr a = {.port_lo = 0, .port_hi = 65535};
	int r;

	if (!*in)
		return policy_why(why, whylen, "empty address");

	if (!strcmp(in, "any")) {
		a.type = ADDR_ANY;
	} else if (!strncmp(in, "unix:", 5)) {
		const char *rest = in + 5;
		if (rest[0] == '@') {
			if (!rest[1])
				return policy_why(why, whylen, "empty abstract socket name");
			r = policy_glob_check(rest + 1, strlen(rest + 1), why, whylen);
			if (r < 0)
				return r;
			a.type = ADDR_UNIX_ABSTRACT;
			a.abstract = strdup(rest + 1);
			if (!a.abstract)
				return -ENOMEM;
		} else {
			r = policy_pattern_parse(rest, true, &a.unix_path, why, whylen);
			if (r < 0)
				return r;
			a.type = ADDR_UNIX;
		}
	} else if (in[0] == '*') {
		if (in[1] != ':')
			return policy_why(why, whylen,
					  "'*' needs a port, as in *:443 (every address is 'any')");
		r = parse_ports(in + 2, &a, why, whylen);
		if (r < 0)
			return r;
		a.type = ADDR_ANY_IP;
	} else if (in[0] == '[') {
		const char *close = strchr(in, ']');
		if (!close)
			return policy_why(why, whylen, "missing ']'");
		r = parse_cidr(AF_INET6, in + 1, close - in - 1, &a, why, whylen);
		if (r < 0)
			return r;
		if (close[1] == ':')
			r = parse_ports(close + 2, &a, why, whylen);
		else if (close[1])
			r = policy_why(why, whylen, "expected ':PORT' after ']'");
		if (r < 0)
			return r;
	} else {
		const char *colon = strchr(in, ':');
		if (colon && strchr(colon + 1, ':'))
			return policy_why(why, whylen,
					  "IPv6 addresses go in brackets, as in [::1]:80");
		r = parse_cidr(AF_INET, in, colon ? (size_t)(colon - in) : strlen(in), &a, why,
			       whylen);
		if (r < 0)
			return r;
		if (colon) {
			r = parse_ports(colon + 1, &a, why, whylen);
			if (r < 0)
				return r;
		}
	}
	*ret = a;
	return 0;
}

void policy_addr_done(struct policy_addr *a)
{
	policy_pattern_done(&a->unix_path);
	free(a->abstract);
	a->abstract = NULL;
}

static int ports_format(const struct policy_addr *a, bool always, char *buf, size_t len)
{
	int n;

	if (!always && a->port_lo == 0 && a->port_hi == 65535)
		n = snprintf(buf, len, "%s", "");
	else if (a->port_lo == a->port_hi)
		n = snprintf(buf, len, ":%u", a->port_lo);
	else
		n = snprintf(buf, len, ":%u-%u", a->port_lo, a->port_hi);
	return n < 0 || (size_t)n >= len ? -ENOBUFS : 0;
}

int policy_addr_format(const struct policy_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN], ports[16], pfx[8] = "";
	int n;

	switch (a->type) {
	case ADDR_ANY:
		n = snprintf(buf, len, "any");
		break;
	case ADDR_ANY_IP:
		if (ports_format(a, true, ports, sizeof(ports)) < 0)
			return -ENOBUFS;
		n = snprintf(buf, len, "*%s", ports);
		break;
	case ADDR_IP4:
	case ADDR_IP6: {
		bool v4 = a->type == ADDR_IP4;
		if (!inet_ntop(v4 ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip)) ||
		    ports_format(a, false, ports, sizeof(ports)) < 0)
			return -ENOBUFS;
		if (a->prefix != (v4 ? 32 : 128))
			snprintf(pfx, sizeof(pfx), "/%u", a->prefix);
		n = snprintf(buf, len, v4 ? "%s%s%s" : "[%s%s]%s", ip, pfx, ports);
		break;
	}
	case ADDR_UNIX:
		n = snprintf(buf, len, "unix:%s", a->unix_path.text);
		break;
	case ADDR_UNIX_ABSTRACT:
		n = snprintf(buf, len, "unix:@%s", a->abstract);
		break;
	default:
		return -EINVAL;
	}
	return n < 0 || (size_t)n >= len ? -ENOBUFS : 0;
}

bool policy_addr_match_ip(const struct policy_addr *a, int family, const uint8_t *ip, uint16_t port)
{
	bool port_ok = port >= a->port_lo && port <= a->port_hi;

	switch (a->type) {
	case ADDR_ANY:
		return true;
	case ADDR_ANY_IP:
		return port_ok;
	case ADDR_IP4:
		return family == AF_INET && port_ok && prefix_equal(a->ip, ip, a->prefix);
	case ADDR_IP6:
		return family == AF_INET6 && port_ok && prefix_equal(a->ip, ip, a->prefix);
	default:
		return false;
	}
}

bool policy_addr_match_unix(const struct policy_addr *a, const char *name, bool abstract)
{
	switch (a->type) {
	case ADDR_ANY:
		return true;
	case ADDR_UNIX:
		return !abstract && policy_pattern_match(&a->unix_path, name);
	case ADDR_UNIX_ABSTRACT:
		return abstract &&
		       policy_glob_match(a->abstract, strlen(a->abstract), name, strlen(name));
	default:
		return false;
	}
}

/* A publish port: 1-65535 (0 would ask the kernel to pick one, which cannot be published). */
static int parse_publish_port(const char *s, size_t len, uint16_t *ret, char *why, size_t whylen)
{
	unsigned v;

	if (parse_uint(s, len, 65535, &v) < 0 || v == 0)
		return policy_why(why, whylen, "bad port '%.*s' (1-65535)", (int)len, s);
	*ret = (uint16_t)v;
	return 0;
}

/* "PORT" or "PORT:INNERPORT". */
static int parse_publish_ports(const char *s, struct policy_rule *r, char *why, size_t whylen)
{
	const char *colon = strchr(s, ':');
	int k;

	if (colon && strchr(colon + 1, ':'))
		return policy_why(why, whylen, "too many ':' in '%s'", s);
	k = parse_publish_port(s, colon ? (size_t)(colon - s) : strlen(s), &r->publish.port, why,
			       whylen);
	if (k < 0)
		return k;
	if (!colon) {
		r->publish.inner_port = r->publish.port;
		return 0;
	}
	return parse_publish_port(colon + 1, strlen(colon + 1), &r->publish.inner_port, why,
				  whylen);
}

int policy_publish_parse(const char *in, struct policy_rule *r, char *why, size_t whylen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&r->publish.host;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->publish.host;
	const char *ports = in;
	int k;

	memset(&r->publish.host, 0, sizeof(r->publish.host));
	if (in[0] == '[') {
		const char *close = strchr(in, ']');
		size_t n = close ? (size_t)(close - in - 1) : 0;
		if (!close)
			return policy_why(why, whylen, "missing ']'");
		if (close[1] != ':')
			return policy_why(why, whylen, "expected ':PORT' after ']'");
		if (!pton_n(AF_INET6, in + 1, n, &sin6->sin6_addr))
			return policy_why(why, whylen, "'%.*s' is not an IPv6 address", (int)n,
					  in + 1);
		sin6->sin6_family = AF_INET6;
		r->publish.host_len = sizeof(*sin6);
		ports = close + 2;
	} else {
		const char *colon = strchr(in, ':');
		/* HOST:PORT[:INNERPORT] when the first part is not a number; otherwise
		 * PORT[:INNERPORT] on the default host. */
		if (colon && !is_digits(in, colon - in)) {
			size_t n = colon - in;
			bool v4 = pton_n(AF_INET, in, n, &sin->sin_addr);
			if (!v4 && strchr(colon + 1, ':') &&
			    strchr(strchr(colon + 1, ':') + 1, ':'))
				return policy_why(why, whylen,
						  "IPv6 hosts go in brackets, as in [::1]:8080:80");
			if (!v4)
				return policy_why(why, whylen,
						  "'%.*s' is not an IPv4 address "
						  "(host names are not looked up)",
						  (int)n, in);
			ports = colon + 1;
		} else {
			/* 127.0.0.1, not 0.0.0.0: publishing to every interface must be asked for.
			 */
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		}
		sin->sin_family = AF_INET;
		r->publish.host_len = sizeof(*sin);
	}
	k = parse_publish_ports(ports, r, why, whylen);
	if (k < 0)
		return k;
	if (r->publish.host.ss_family == AF_INET)
		sin->sin_port = htons(r->publish.port);
	else
		sin6->sin6_port = htons(r->publish.port);
	return 0;
}

int policy_publish_format(const struct policy_rule *r, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&r->publish.host;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&r->publish.host;
	char ip[INET6_ADDRSTRLEN];
	bool v4 = r->publish.host.ss_family == AF_INET;
	int n;

	if (!inet_ntop(v4 ? AF_INET : AF_INET6,
		       v4 ? (const void *)&sin->sin_addr : (const void *)&sin6->sin6_addr, ip,
		       sizeof(ip)))
		return -ENOBUFS;
	n = snprintf(buf, len, v4 ? "%s:%u:%u" : "[%s]:%u:%u", ip, r->publish.port,
		     r->publish.inner_port);
	return n < 0 || (size_t)n >= len ? -ENOBUFS : 0;
}
