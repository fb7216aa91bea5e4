/*
 * blo_policy: need-to-know. One pure function decides whether a principal
 * may receive an alert; the broker asks it for local subscribers and for mesh
 * peers (principals of role broker) alike. It reads the registry for
 * operation membership and addressees, and changes nothing.
 */
#ifndef BLO_POLICY_H
#define BLO_POLICY_H

#include "blo_registry.h"
#include "blonet.pb-c.h"

#include <stdbool.h>

/*
 * May principal p receive alert a? All of these must hold:
 *
 * 1. p is not revoked, and its role receives alerts: console, committee or
 *    broker (agents and admins publish and inspect; they subscribe to
 *    nothing).
 * 2. Country gate: p's country is a's origin country or is listed in
 *    releasable_to. An empty releasable_to means the origin country only.
 *    An ACK or RESPONSE also passes toward the country of the referenced
 *    originator (rule 4): a reply goes back where its alert came from.
 * 3. Operation: if a names an operation, p is a member of it.
 * 4. ACK and RESPONSE go back to the originator of the referenced alert:
 *    referenced_origin is the origin of the alert that a->references[0]
 *    names (NULL if unknown: then nobody may receive it). Recipients are that
 *    originator, consoles at its site, and committees.
 * 5. TLP: RED reaches only principals named in addressed_to (and, for ACK and
 *    RESPONSE, the originator of rule 4); AMBER+STRICT only principals named
 *    in addressed_to or sitting at a site named there (same addition);
 *    AMBER, GREEN and CLEAR everyone past rules 1-4.
 * A broker past the country gate passes rules 3-5 when its country is the
 * alert's origin country (its country holds what its own principals
 * publish, and relays it onward), or when some live console or committee of
 * its country passes rules 1-5: a country none of whose readers may read
 * the alert holds nothing of it, whoever else it names (an administrator,
 * an agent, a revoked principal, the broker itself). One way through: a
 * reply (rule 4) marked no stricter than AMBER crosses a country it was
 * released to on its way back to the originator, when its operation, if
 * any, has a console or committee of that country among its members.
 *    (TLP:CLEAR still stops at the country gate: the marking governs what a
 *    recipient may do with the alert, releasability who may receive it.)
 */
bool blo_policy_may_receive(const Blonet__Alert *a, const blo_principal_t *p,
			    const blo_registry_t *reg, const Blonet__Origin *referenced_origin);

/* Does a subscriber's own filter accept a? A NULL filter accepts all. The
 * filter only narrows blo_policy_may_receive; it never widens it. */
bool blo_filter_match(const Blonet__Filter *f, const Blonet__Alert *a);

#endif
