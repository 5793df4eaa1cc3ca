/* The `tern` command table: global flags and commands (README "The binary"). */
#ifndef TERN_ACTORS_CLI_H
#define TERN_ACTORS_CLI_H

/** Runs the command line; returns the process exit status (0 ok, 1 error, 2 usage). */
int cli_main(int argc, char **argv);

#endif
