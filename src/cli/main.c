/* The sysbroker binary: subcommand dispatch. */
#include <stdio.h>
int main(void) { return 0; }
