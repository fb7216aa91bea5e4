/*
 * wal_kill: an LD_PRELOAD shim for test_broker_durability that makes a
 * broker die in the one window its journal's write-ahead log covers: after
 * a logged batch was acknowledged and before its commit reached the disk.
 *
 * Every fdatasync goes through. Once BLO_WAL_KILL_AFTER syncs of a file
 * named "wal" (the log) have returned, the next sync of "data.mdb" (the
 * commit that follows a logged batch, whose acks the broker's I/O thread
 * sends meanwhile) waits BLO_WAL_KILL_DELAY_MS (default 300), for those
 * acks to leave, then the process kills itself with SIGKILL, before that
 * sync. The commit's pages may be in the page cache, but not the meta page
 * that would make them the store's: the next start must replay the batch.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int wal_syncs;

static int ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && strcmp(s + a - b, tail) == 0;
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? strtol(v, NULL, 10) : dflt;
}

int fdatasync(int fd)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	if (ends_with(path, "/wal")) {
		int rc = (int)syscall(SYS_fdatasync, fd);

		atomic_fetch_add(&wal_syncs, 1);
		return rc;
	}
	if (ends_with(path, "/data.mdb") &&
	    atomic_load(&wal_syncs) >= env_long("BLO_WAL_KILL_AFTER", 100)) {
		long ms = env_long("BLO_WAL_KILL_DELAY_MS", 300);
		struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000};

		nanosleep(&ts, NULL);
		raise(SIGKILL);
	}
	return (int)syscall(SYS_fdatasync, fd);
}
