/* The store committer: group commit of store batches on a dedicated thread.
 *
 * Protocol: send STORE_MSG_COMMIT_REQ {batch} (ownership of the batch moves
 * with the message, whatever happens next) with a req_id; the reply
 * STORE_MSG_COMMIT_RES {code, error} echoes that req_id and comes only after
 * the WriteBatch holding the batch was written with sync=true (code 0), or
 * failed (negative code: nothing of the batch was written). A requester that
 * is not an actor (id 0) gets no reply. If the send itself fails (-ESRCH,
 * -EAGAIN) the caller still owns the batch. */
#ifndef TERN_ACTORS_STORE_COMMITTER_H
#define TERN_ACTORS_STORE_COMMITTER_H

#include <stdint.h>

struct store;
struct worker;

/** Most batches merged into one WriteBatch; more wait for the next group. */
#define STORE_COMMITTER_GROUP_MAX 1024
/** Bytes after which a group is written at once. */
#define STORE_COMMITTER_GROUP_BYTES (64u << 20)

/** Starts a committer for s on worker w, or on a new dedicated worker when w is NULL (the
 * normal case: its thread blocks in fsync). s must stay open until the committer stopped.
 * Returns the actor id to send STORE_MSG_COMMIT_REQ to. */
uint64_t store_committer_start(struct store *s, struct worker *w);

/** Commits everything already sent to committer id, stops it, and waits for that. Call once,
 * from one thread that is not the committer's worker. Requests must not be sent after it (they
 * fail with -ESRCH once it returned). Returns 0, or -ESRCH when there is no such actor. */
int store_committer_stop(uint64_t id);

#endif
