/*
 * blo_adapt: the agency adapters' library, in one include: the rules file
 * (blo_adapt_rules), record framing (blo_adapt_input), the agency mappers
 * and sources (blo_adapt_map), the progress store (blo_adapt_progress) and
 * the publishing loop with its spool (blo_adapt_run). The program is
 * agents/blonet-adapter; the formats are documented in agents/formats/.
 */
#ifndef BLO_ADAPT_H
#define BLO_ADAPT_H

#include "blo_adapt_input.h"
#include "blo_adapt_map.h"
#include "blo_adapt_progress.h"
#include "blo_adapt_rules.h"
#include "blo_adapt_run.h"

#endif
