/* `tern localserve`: a complete local development server (spec localserve.md). */
#ifndef TERN_ACTORS_LOCALSERVE_H
#define TERN_ACTORS_LOCALSERVE_H

/** Runs `tern localserve [-dir DIR] [-ip IP] [-initonly]`; returns the exit status. */
int localserve_main(int loglevel, int argc, char **argv);

#endif
