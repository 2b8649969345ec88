/* learn FILE: what the program touched, recorded after every answer and written on exit as a
 * policy that lets the same run pass under "default deny" (internal; unit-tested). */
#pragma once

#include <stddef.h>

#include <sysbroker/sysbroker.h>

enum learn_kind {
	LEARN_LOOK,   /* stat, access, readlink...: a directory alone, not what is below it */
	LEARN_READ,   /* read, list, execute: allow-read */
	LEARN_WRITE,  /* changed in place: allow */
	LEARN_CREATE, /* created, removed or renamed: allow, on its directory if it is gone */
};

struct learn;

struct learn *learn_new(void);
void learn_free(struct learn *l);
/* Records path (absolute, in the program's view) with kind; thread-safe. */
int learn_record(struct learn *l, const char *path, enum learn_kind kind);
/* After an answered request: its resolved path if the policy allowed it, and the program's
 * executable (exec is not notified: the process's next call shows it). */
void learn_note(struct learn *l, sb_req *r);
/*
 * The policy: "default deny", then one allow or allow-read line per path, folded to the
 * directory where two or more entries of one directory were touched, parents before children.
 * Returns a malloc'd text or NULL (ENOMEM).
 */
char *learn_format(struct learn *l);
