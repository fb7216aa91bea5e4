/*
 * libFuzzer target for the customs adapter's parser: arbitrary bytes as
 * a customs export (JSON Lines); the checks are in fuzz_adapt.h.
 */
#define FUZZ_AGENCY BLO_ADAPT_CUSTOMS
#include "fuzz_adapt.h"
