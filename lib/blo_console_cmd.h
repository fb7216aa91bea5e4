/*
 * blo_console_cmd: the console's commands, for the line and JSON front ends
 * (scripts and officers at a plain terminal). One command per line, either
 * text or a JSON object:
 *
 *   list [unread] [acks] [category=C] [severity=S] [crossing=SITE]
 *   show REF              read REF             help            quit
 *   ack REF [received|acting] [NOTE...]
 *   respond REF TEXT...
 *   rfi|bulletin [to=SITE] [tlp=T] [rel=CC,CC] [category=C] [severity=S]
 *       [operation=OP] HEADLINE... [// DESCRIPTION or, for a bulletin,
 *       MODUS OPERANDI]
 *
 *   {"cmd":"ack","id":REF,"status":"ACTING","text":NOTE}
 *   {"cmd":"respond","id":REF,"text":TEXT}
 *   {"cmd":"rfi"|"bulletin","to":SITE,"tlp":T,"releasable_to":[CC],
 *    "category":C,"severity":S,"operation":OP,"headline":H,
 *    "description":D,"modus_operandi":M}
 *   {"cmd":"list","unread":true,"acks":true,"category":C,"severity":S,
 *    "crossing":SITE}
 *   {"cmd":"show"|"read","id":REF}   {"cmd":"quit"}
 *
 * REF is "#N" (the local number shown), or 6 to 32 hex digits of the id.
 * Enum values are the .proto names, case-insensitive, with or without
 * their prefix ("amber", "TLP_AMBER", "amber+strict").
 */
#ifndef BLO_CONSOLE_CMD_H
#define BLO_CONSOLE_CMD_H

#include "blo_console.h"

#include <stdbool.h>

/* Runs one command line. Returns what to print (json: one JSON line
 * {"event":"result"|"list"|"show",...}; else text lines, newline-separated,
 * no final newline), malloc()ed, caller frees; NULL when out of memory.
 * Sets *quit for "quit". width: cells for list rows and detail (0: 120). */
char *blo_console_cmd_run(blo_console_t *c, const char *line, bool json, int width, bool *quit);

/* Parses an enum value name as above ("amber+strict" too). Returns the
 * value, or -1 if it names none. */
int blo_console_cmd_enum(const ProtobufCEnumDescriptor *d, const char *prefix, const char *text);

#endif
