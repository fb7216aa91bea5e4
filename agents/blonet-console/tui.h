/*
 * The console's full-screen mode (ncursesw). Built only when the program is
 * compiled with BLO_HAVE_NCURSESW (and linked with ncursesw); otherwise
 * tui_run says so and returns 2.
 */
#ifndef BLONET_CONSOLE_TUI_H
#define BLONET_CONSOLE_TUI_H

#include "blo_console.h"

#include <signal.h>
#include <stdbool.h>

/* Runs the full-screen console until the officer quits or *stop is set.
 * Returns the exit status: 0, 1 when the broker refuses this console's
 * key, 2 when full screen is not available. */
int tui_run(blo_console_t *c, volatile sig_atomic_t *stop);

/* True if this program was built with the full-screen mode. */
bool tui_available(void);

#endif
