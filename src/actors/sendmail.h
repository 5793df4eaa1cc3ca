/* `tern sendmail [-t] [-F name] [ignored flags] [rcpt]`: a drop-in
 * /usr/sbin/sendmail that submits stdin over SMTP submission (README "The
 * binary"). Also run when the binary is invoked under the name `sendmail`. */
#ifndef TERN_ACTORS_SENDMAIL_H
#define TERN_ACTORS_SENDMAIL_H

/** Default config path; the environment variable TERN_SUBMIT_CONF overrides it. */
#define SENDMAIL_CONF_PATH "/etc/ternsubmit.conf"

/** Runs the command; returns the exit status (0 when the server accepted the
 * message with 250, 1 otherwise, 2 usage). */
int sendmail_main(int argc, char **argv);

#endif
