/* tern: command-line entry point.
 *
 * DESIGN: parse the global flags, then hand the command to its table entry in
 * src/actors/cli.c (server commands) — main stays short. */
#include "actors/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
