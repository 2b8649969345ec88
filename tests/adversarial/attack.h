/* Shared by the attack programs of the adversarial suite: their arguments, the protected file,
 * and how an escape is recognised and reported. Each attack is run natively (the control,
 * which must escape) and under `sysbroker run` with a deny, hide or allow-read rule on the
 * protected directory (which must not). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * argv: GOAL DIR TRIES. GOAL "read": get the content of DIR/sec/f ("SECRET") under deny or
 * hide; "write": change DIR/sec/f (or anything in DIR/sec) under allow-read. TRIES > 0: make
 * exactly that many tries; TRIES < 0: at most -TRIES, stopping at the first escape (control).
 */
struct atk {
	const char *dir;
	bool write;
	long tries; /* made so far */
	long max;
	bool stop_at_first;
	long escapes;
	dev_t dev; /* of DIR/sec/f, for the write goal */
	ino_t ino;
};
extern struct atk A;

void atk_init(int argc, char **argv);
/* DIR/rel in one of a few rotating static buffers. */
const char *atk_path(const char *rel);
/* fmt with every "N" word replaced by n ("/proc/N/mem"): paths with a number in them. */
const char *atk_subst(const char *fmt, long n);
/* May the loop go on (counts one try)? */
bool atk_more(void);
/* Records an escape: how, and what it got. */
void atk_escape(const char *how, const char *what);
/*
 * fd came out of an attack: did it reach the protected file? Read goal: its content is
 * "SECRET". Write goal: it is DIR/sec/f and a write through it succeeds. Closes fd (if >= 0).
 */
bool atk_fd(int fd, const char *how);
/* Prints "tries=N escapes=E" and returns the exit status: 0 escaped, 1 held. */
int atk_done(void);
/* Not an attack under this goal (e.g. exec under allow-read, which allows it): exit 3. */
_Noreturn void atk_not_applicable(const char *why);
/* The attack could not even be set up here (missing kernel feature): exit 4. */
_Noreturn void atk_cannot(const char *why);

/*
 * Starts a thread that rewrites the three bytes at buf + off, "sec" and "pub" in turn, each
 * held for a short spin so that either can be what a reader sees: a path the program passes
 * changes while the call is judged. atk_rewrite_stop ends it.
 */
void atk_rewrite_start(char *buf, size_t off);
void atk_rewrite_stop(void);
/* Does the listing of dir show name? */
bool atk_listing_has(const char *dir, const char *name);
