/* sysbroker features: says what the running kernel supports, as a table or as one JSON object. */
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sysbroker/sysbroker.h>

#include "macros.h"

/*
 * --json prints one object:
 *
 *   {"user_notification":{"present":true,"since":"5.0"},
 *    "continue":{...}, "addfd":{...}, "addfd_flag_send":{...}, "addfd_flag_setfd":{...},
 *    "wait_killable_recv":{...}, "tsync_esrch":{...}, "notif_set_flags_sync_wake_up":{...},
 *    "pidfd_open":{...}, "pidfd_getfd":{...}, "pidfd_thread":{...}, "openat2":{...},
 *    "landlock":{...}, "bpf_thread_watch":{...},
 *    "landlock_abi":7,
 *    "sizes":{"notif":80,"resp":24,"data":64}}
 *
 * Every feature is {"present":BOOL,"since":"X.Y"}, in the table's order. Its key is the row
 * name from sb_features_rows() lower-cased, each run of other characters turned into one '_'
 * (so the keys are as stable as the row names). landlock_abi is 0 when Landlock is absent;
 * sizes are those of SECCOMP_GET_NOTIF_SIZES (0 when unavailable).
 */

#define NAME_WIDTH 30

static void usage(FILE *f)
{
	fputs("Usage: sysbroker features [--json]\n"
	      "\n"
	      "Probes the running kernel for every feature sysbroker can use (by trying it, not\n"
	      "by its version) and prints one row per feature: name, yes/no, and the Linux\n"
	      "version that brought it; then the seccomp notification struct sizes.\n"
	      "\n"
	      "  --json   print the same as one JSON object\n"
	      "  --help   show this help\n",
	      f);
}

static void feature_key(const char *name, char *buf, size_t size)
{
	size_t k = 0;
	bool sep = false;

	for (const char *p = name; *p && k + 1 < size; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (sep && k > 0 && k + 2 < size)
				buf[k++] = '_';
			buf[k++] = c;
			sep = false;
		} else
			sep = true;
	}
	buf[k] = '\0';
}

static bool is_landlock(const sb_feature_row *row)
{
	return strcmp(row->name, "Landlock") == 0;
}

static void print_table(const sb_features *f, const sb_feature_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char value[32];

		if (rows[i].present && is_landlock(&rows[i]))
			snprintf(value, sizeof(value), "yes (ABI %d)", f->landlock_abi);
		else
			snprintf(value, sizeof(value), "%s", rows[i].present ? "yes" : "no");
		printf("%-*s %-12s since %s\n", NAME_WIDTH, rows[i].name, value, rows[i].since);
	}
	printf("notif struct sizes: notif=%u resp=%u data=%u\n", f->sizeof_notif, f->sizeof_resp,
	       f->sizeof_data);
}

static void print_json(const sb_features *f, const sb_feature_row *rows, size_t n)
{
	putchar('{');
	for (size_t i = 0; i < n; i++) {
		char key[64];

		/* Keys are [a-z0-9_] by construction; since strings are version numbers. */
		feature_key(rows[i].name, key, sizeof(key));
		printf("\"%s\":{\"present\":%s,\"since\":\"%s\"},", key,
		       rows[i].present ? "true" : "false", rows[i].since);
	}
	printf("\"landlock_abi\":%d,\"sizes\":{\"notif\":%u,\"resp\":%u,\"data\":%u}}\n",
	       f->landlock_abi, f->sizeof_notif, f->sizeof_resp, f->sizeof_data);
}

int cmd_features(int argc, char **argv)
{
	sb_feature_row rows[32];
	sb_features f;
	bool json = false;
	size_t n;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--json") == 0)
			json = true;
		else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (arg[0] == '-') {
			cli_error("features: unknown option '%s'", arg);
			return EXIT_SB_FAILURE;
		} else {
			cli_error("features: unexpected argument '%s'", arg);
			return EXIT_SB_FAILURE;
		}
	}

	r = sb_features_probe(&f);
	if (r < 0) {
		cli_error("features: probing the kernel failed: %s", strerror(-r));
		return EXIT_SB_FAILURE;
	}
	n = sb_features_rows(&f, rows, ELEMENTSOF(rows));

	if (json)
		print_json(&f, rows, n);
	else
		print_table(&f, rows, n);

	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("features: writing the output failed: %s", strerror(errno));
		return EXIT_SB_FAILURE;
	}
	return 0;
}
