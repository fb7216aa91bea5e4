/*
 * fault_lmdb: the stale-reader scenario's view of a broker's journal, with
 * plain LMDB (as any operator tool reading the journal would).
 *   fault_lmdb hold DIR      opens the environment read-only, begins a read
 *                            transaction, prints "holding TXNID" and sleeps
 *                            until killed
 *   fault_lmdb readers DIR   prints "readers=N dead=M": reader slots in use,
 *                            and how many of them belong to processes that
 *                            no longer exist (stale); clears nothing
 */
#include <errno.h>
#include <lmdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct {
	int readers;
	int dead;
} reader_count_t;

/* mdb_reader_list's lines: a header, then "PID THREAD TXNID" per slot. */
static int count_reader(const char *line, void *arg)
{
	reader_count_t *c = arg;
	long pid;

	if (sscanf(line, "%ld", &pid) != 1 || pid <= 0)
		return 0;
	c->readers++;
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		c->dead++;
	return 0;
}

static int open_env(MDB_env **env, const char *dir)
{
	int rc = mdb_env_create(env);

	if (rc == 0)
		rc = mdb_env_set_maxdbs(*env, 8);
	if (rc == 0)
		rc = mdb_env_open(*env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
	if (rc != 0)
		fprintf(stderr, "fault_lmdb: %s: %s\n", dir, mdb_strerror(rc));
	return rc;
}

int main(int argc, char **argv)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	int rc;

	if (argc != 3 || (strcmp(argv[1], "hold") != 0 && strcmp(argv[1], "readers") != 0)) {
		fprintf(stderr, "usage: fault_lmdb hold|readers DIR\n");
		return 2;
	}
	if (open_env(&env, argv[2]) != 0)
		return 1;
	if (strcmp(argv[1], "readers") == 0) {
		reader_count_t c = {0};

		mdb_reader_list(env, count_reader, &c);
		printf("readers=%d dead=%d\n", c.readers, c.dead);
		mdb_env_close(env);
		return 0;
	}
	rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		fprintf(stderr, "fault_lmdb: read transaction: %s\n", mdb_strerror(rc));
		mdb_env_close(env);
		return 1;
	}
	printf("holding %zu\n", mdb_txn_id(txn));
	fflush(stdout);
	for (;;)
		pause();
}
