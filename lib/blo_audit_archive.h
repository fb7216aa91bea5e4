/*
 * blo_audit_archive: audit retention. Every accept, delivery and forward
 * adds a record to the journal's audit chain; kept in LMDB for good they
 * would fill the map however short the alerts' retention. The oldest
 * records move instead to files in an archive folder, one file per move:
 *
 *   audit-<aseq of its first record, 20 digits>.jsonl
 *
 * Its first line is "prev", a tab, and the chain hash before its first
 * record (64 lowercase hex digits; zeros for record 1); then one line per
 * record: the record's JSON text exactly as chained, a tab, and its chain
 * hash (so `tail -n +2 FILE | cut -f1` gives JSON lines). At most
 * BLO_AUDIT_ARCHIVE_FILE_RECORDS records and about 64 MiB a file. A file
 * is written under a temporary name and synced, then linked into place
 * (the folder synced) before the journal lets go of its records
 * (blo_journal_audit_trim), so every record is always in the journal, in
 * an archive file, or in both: a crash between the two leaves a file
 * whose records the journal still holds, and the next move replaces that
 * file. It replaces no other: a file of that name whose records the
 * journal does not hold (a journal restored from an older copy beside a
 * newer archive, two brokers sharing a folder) stops the move with an
 * error, the records staying in the journal. The broker never deletes a
 * file: where they go after that (cold storage, and when) is the
 * operator's policy, as long as the file holding the journal's anchor and
 * every newer one stay for audit-verify to join the archive to the
 * journal.
 */
#ifndef BLO_AUDIT_ARCHIVE_H
#define BLO_AUDIT_ARCHIVE_H

#include "blo_err.h"
#include "blo_journal.h"

#include <stdbool.h>
#include <stdint.h>

/* Records per archive file, at most. */
#define BLO_AUDIT_ARCHIVE_FILE_RECORDS 65536
/* Records one blo_audit_archive_move moves at most when opts say 0. */
#define BLO_AUDIT_ARCHIVE_MOVE_MAX (4 * (uint64_t)BLO_AUDIT_ARCHIVE_FILE_RECORDS)

typedef struct {
	int64_t older_than_ms; /* move the records with time_ms below; 0: no age limit */
	uint64_t keep_records; /* and beyond this many, the oldest; 0: no count limit */
	uint64_t max_records;  /* moved per call at most; 0: BLO_AUDIT_ARCHIVE_MOVE_MAX */
} blo_audit_archive_opts_t;

/* Moves the journal's oldest audit records that opts select to new files
 * in dir (created, mode 0750, if missing), oldest first and stopping at
 * the first record kept, so what stays is contiguous. Recomputes the chain
 * from the journal's anchor as it copies, and the journal checks every
 * stored hash before it lets go (blo_journal_audit_trim): from a journal
 * whose chain does not hold nothing moves (BLO_ECORRUPT) and the file just
 * written is removed. Call it from the journal's writer.
 * *moved (optional) receives how many left the journal, also on failure.
 * Returns 0; BLO_ECORRUPT; -errno for a file that could not be written
 * (nothing of that move leaves the journal); or what blo_journal_audit_trim
 * returns; err says which. */
int blo_audit_archive_move(blo_journal_t *journal, const char *dir,
			   const blo_audit_archive_opts_t *opts, uint64_t *moved, blo_err_t *err);

typedef struct {
	uint64_t files;      /* archive files in the folder */
	uint64_t records;    /* records in them */
	uint64_t first_aseq; /* of the oldest file; 0: no file */
	uint64_t last_aseq;  /* of the newest file */
	/* first_aseq is 1: the first record was checked against the chain's
	 * start; otherwise older files are elsewhere and the oldest record
	 * present is taken as given. */
	bool from_start;
	uint64_t journal_records; /* records the journal holds (from its anchor) */
	uint64_t anchor_aseq;     /* the journal's anchor: the last record moved out */
} blo_audit_archive_info_t;

/* Checks the whole audit log: the archive files in dir (each record's
 * text and hash from its file's prev hash, each file's prev hash equal to
 * the previous file's last, sequences without a gap within and across
 * files), the journal's chain from its anchor (blo_journal_audit_verify),
 * and that the two meet: the archive's hash at the anchor is the anchor's,
 * and the records a file holds after the anchor (a move cut short) are
 * the journal's, hash for hash. Files older than the oldest present may
 * have been taken away: that one's prev hash is then taken as given. dir
 * need not exist while nothing was ever moved. A move running meanwhile
 * makes it check again. info and bad_aseq are
 * optional. Returns 0 when intact; BLO_ECORRUPT with *bad_aseq the first
 * record that is missing, altered or out of place (the one after the
 * archive's last when its newest file is missing; 0 when the fault is not
 * one record's, e.g. no archive file at all), err saying which
 * file or journal and what; -errno or an MDB_* code for a failed read. */
int blo_audit_archive_verify(blo_journal_t *journal, const char *dir,
			     blo_audit_archive_info_t *info, uint64_t *bad_aseq, blo_err_t *err);

#endif
