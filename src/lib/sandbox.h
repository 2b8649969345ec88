/* A sandbox: a policy plus its outputs (audit, learn), attached to listeners as their data;
 * the handler families find it through sb_req_listener_data(). */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include <sysbroker/sysbroker.h>

#include "policy/policy.h"

struct sb_sandbox {
	sb_policy *policy; /* owned */
	bool fs_trivial;   /* no fs rule, default allow: resolve only for the audit path */
	bool fs_redirect;  /* a redirect rule: the walk of every path looks for FROMs */
	bool fs_hide;      /* a hide rule: listings are filtered */
	int audit_fd;      /* -1: no audit */
	pthread_mutex_t lock;
	char *label;       /* container id in agent mode, NULL for run */
	void *userdata;
	struct learn *learn; /* NULL unless learning */
	struct net_sandbox *net; /* handlers/net_common.h */
};

/* Does this sandbox need the path families beyond open (a fs rule, or an audit to write)? */
bool sandbox_wants_fs(const struct sb_sandbox *sb);
/* Notes of a request are read after its answer (audit or learn): worth formatting. */
bool sandbox_records(const struct sb_sandbox *sb);

/* Decision helpers shared by handler families: fill the request note with action/rule. */
void sandbox_note_rule(sb_req *r, const char *action, const struct policy_rule *rule);
