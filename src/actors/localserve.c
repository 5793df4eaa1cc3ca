/* `tern localserve` (spec localserve.md). */
#include "actors/localserve.h"

#include <stdio.h>

int localserve_main(int loglevel, int argc, char **argv)
{
	fprintf(stderr, "tern: localserve is not part of this build yet\n");
	return 1;
}
