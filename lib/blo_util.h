/*
 * blo_util: small helpers every module needs: hex, whole-file reads, atomic
 * file writes with a chosen mode, the wall clock.
 */
#ifndef BLO_UTIL_H
#define BLO_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes the lower-case hex of in[0..n) and a NUL into out, which must hold
 * 2n+1 bytes. Returns 0, or BLO_ETOOBIG when outsz is too small. */
int blo_hex_encode(char *out, size_t outsz, const uint8_t *in, size_t n);

/* Decodes exactly `want` bytes from the hex string hex (upper or lower case,
 * NUL-terminated, exactly 2*want digits) into out. Returns 0, or BLO_EPARSE. */
int blo_hex_decode(uint8_t *out, size_t want, const char *hex);

/* Reads the whole file at path into a new NUL-terminated buffer (caller
 * free()s *out); *len excludes the NUL. Files larger than max are refused
 * with BLO_ETOOBIG. Returns 0, -errno, or BLO_ETOOBIG. */
int blo_read_file(const char *path, size_t max, char **out, size_t *len);

/* Replaces the file at path with data, atomically: writes a temporary file
 * in the same folder with the given mode, fsyncs it, renames it over path and
 * fsyncs the folder. Returns 0 or -errno. */
int blo_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t blo_now_ms(void);

/* Nanoseconds of CLOCK_MONOTONIC: for durations, which a clock step must
 * not bend. */
int64_t blo_mono_ns(void);

/* Milliseconds of CLOCK_MONOTONIC, plus BLO_MONO_OFFSET_MS: for timers,
 * deadlines and ages kept in memory. A step of the wall clock (NTP putting
 * right a host that booted an hour off) must neither stop them for the
 * length of the step nor fire them all at once. Never stored or shown:
 * blo_mono_to_wall_ms gives a moment in blo_now_ms terms. The offset (about
 * 31 years) puts 0, what a "last time" field starts at, long before any
 * reading, even on a host that has just booted. */
#define BLO_MONO_OFFSET_MS INT64_C(1000000000000)
int64_t blo_mono_ms(void);

/* The wall-clock time (blo_now_ms) of a blo_mono_ms moment; 0 stays 0
 * (never). */
int64_t blo_mono_to_wall_ms(int64_t mono_ms);

/* Copies src into dst (size dstsz, NUL-terminated). Returns 0, or
 * BLO_ETOOBIG if src does not fit (dst then holds nothing). */
int blo_strlcpy(char *dst, const char *src, size_t dstsz);

#endif
