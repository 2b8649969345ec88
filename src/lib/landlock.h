/* Landlock for exec, which seccomp cannot emulate: the translation of a policy into the
 * directories and files a ruleset lets the program execute (internal; unit-tested). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* What a policy says about executing objects in (or at) one directory's tree. */
enum ll_class {
	LL_EXEC_NONE,  /* nothing there may be executed */
	LL_EXEC_ALL,   /* everything there may be, now and later: one rule on the directory */
	LL_EXEC_MIXED, /* some may, some may not: its entries get rules of their own */
};

/* Most entries the exploration looks at (and so, rules it adds) before it gives up. */
#define LL_BUDGET 20000
/* Deepest directory it explores; deeper mixed trees are left without rules. */
#define LL_MAX_DEPTH 64
/* Entries one check of a denied region looks at before it assumes an executable is there
 * (or, for a "**" region, before it gives the rule up). */
#define LL_SCAN_MAX 4096
/* Rules a policy may have before the later deny/hide "**" among them are all left out. */
#define LL_MAX_GLOBSTAR_RULES 256

struct ll_plan {
	const sb_policy *p;
	int ruleset;	   /* Landlock ruleset fd the rules go to; -1: only plan (tests) */
	unsigned n_rules;  /* rules added (or planned) */
	unsigned budget;   /* entries it may still look at */
	char gave_up[256]; /* the first mixed directory left without rules, "" if none */
	/* The first deny/hide with "**" whose exec refusal could not be turned into rules
	 * (it starts with "**", or what it covers is too large to list), and how many. */
	const struct policy_rule *unenforced;
	unsigned n_unenforced;
	uint64_t dropped[LL_MAX_GLOBSTAR_RULES / 64]; /* those rules, by index */
	/* Called for every rule (tests); NULL otherwise. */
	void (*on_rule)(void *userdata, const char *path, bool is_dir);
	void *userdata;
};

/* Sets up a plan for p (no ruleset yet; the unenforced rules are counted here). */
void landlock_plan_init(struct ll_plan *pl, const sb_policy *p, int ruleset);
/*
 * What the policy says about exec of the object at path (absolute, normalised), opened as fd
 * (O_PATH): for a directory, about its whole tree, existing and future entries alike.
 */
enum ll_class landlock_classify(struct ll_plan *pl, int fd, const char *path);
/* Explores from "/" and adds a rule (EXECUTE) for every tree or file that may run. */
int landlock_plan_run(struct ll_plan *pl);
