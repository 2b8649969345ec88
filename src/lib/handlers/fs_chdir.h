/* The working directory under fs rules: the check every intercepted call makes first while a
 * chdir the kernel made for the program has not been seen yet (fs_chdir.c). */
#pragma once

#include <sysbroker/sysbroker.h>

/*
 * While a chdir or fchdir of the caller's sandbox was let through and not yet seen to land,
 * judges the caller's cwd: in a denied or hidden place, the process is killed and -EACCES or
 * -ENOENT returned (answer the call with it, never run it). 0 otherwise; costs an atomic load
 * when nothing is pending.
 */
int fs_cwd_check(sb_req *r);
