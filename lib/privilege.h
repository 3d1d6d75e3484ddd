/*
 * privilege.h - what a container definition may do on the host, compared.
 *
 * A rollback recreates production from a snapshot's container.json.  That
 * file is trusted only as far as the deployment root is (deployment.h), and
 * an old definition may simply have been looser than today's: an operator
 * who has since dropped `--privileged` or a host bind must not get it back
 * silently.  privilege_widening() lists every way the snapshot's definition
 * lets the container do more on the host than the running one: privileged
 * mode, capabilities added or no longer dropped, devices, host paths mounted
 * (or now writable), the host's network/pid/ipc/uts/user/cgroup namespaces,
 * security options dropped or set to unconfined, a root filesystem no longer
 * read-only, root instead of a user.  Pure: two inspect documents in, an
 * array of sentences out; the caller decides (rollback refuses unless
 * --allow-wider and a person confirms).
 */
#ifndef CPACTL_PRIVILEGE_H
#define CPACTL_PRIVILEGE_H

#include <jansson.h>

/* A new array of sentences, one per widening of `now` (the running
 * container's inspect) by `then` (the snapshot's); empty when none.  NULL
 * without memory. */
json_t *privilege_widening(json_t *now, json_t *then);

#endif
