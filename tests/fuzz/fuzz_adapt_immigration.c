/*
 * libFuzzer target for the immigration adapter's parser: arbitrary bytes as
 * an immigration export (CSV with a header); the checks are in fuzz_adapt.h.
 */
#define FUZZ_AGENCY BLO_ADAPT_IMMIGRATION
#include "fuzz_adapt.h"
