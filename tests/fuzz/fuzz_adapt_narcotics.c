/*
 * libFuzzer target for the narcotics adapter's parser: arbitrary bytes as
 * a police case report export (JSON Lines); the checks are in fuzz_adapt.h.
 */
#define FUZZ_AGENCY BLO_ADAPT_NARCOTICS
#include "fuzz_adapt.h"
