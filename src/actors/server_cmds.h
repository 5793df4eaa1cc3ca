/* Control-socket commands of the server itself: status, metrics, debug clock. */
#ifndef TERN_ACTORS_SERVER_CMDS_H
#define TERN_ACTORS_SERVER_CMDS_H

/** Registers the server's own commands with the control socket. */
void server_cmds_register(void);

#endif
