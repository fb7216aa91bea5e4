/*
 * libblonet: the one public header. Every program of blonet includes this and
 * links libblonet.a; each module's header documents its functions.
 */
#ifndef BLONET_H
#define BLONET_H

#include "blo_adapt.h"
#include "blo_audit_archive.h"
#include "blo_audit_limit.h"
#include "blo_broker.h"
#include "blo_client.h"
#include "blo_committee.h"
#include "blo_console.h"
#include "blo_codec.h"
#include "blo_config.h"
#include "blo_envelope.h"
#include "blo_err.h"
#include "blo_identity.h"
#include "blo_journal.h"
#include "blo_log.h"
#include "blo_policy.h"
#include "blo_provision.h"
#include "blo_registry.h"
#include "blo_samples.h"
#include "blo_settings.h"
#include "blo_util.h"
#include "blo_wire.h"
#include "blo_zap.h"
#include "blonet.pb-c.h"

#endif
