/* Command-line front end: global flags, the command table, and client-side
 * commands that talk to the server over the control socket.
 *
 * DESIGN: a table {name, usage, fn}; `serve` and `localserve` start the server
 * in this process, everything else except version/help is a control-socket
 * client (see control_client.c). */
#include "actors/cli.h"

#include <stdio.h>
#include <string.h>

int cli_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "version") == 0) {
		printf("tern %s\n", TERN_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: tern [-config path] [-loglevel level] <command> [arguments]\n");
	return 2;
}
