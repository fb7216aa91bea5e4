/*
 * proc: the demo's child processes. Each is started from argv with its
 * output going to a file or a pipe the demo reads line by line, tracked by
 * PID, and stopped by PID: the demo never signals a process it did not
 * start.
 */
#ifndef DEMO_PROC_H
#define DEMO_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
	char name[96];   /* for messages: the principal id, or a tool's name */
	pid_t pid;       /* 0: not started, or reaped */
	int in_fd;       /* write end of its standard input; -1: none */
	int out_fd;      /* read end of its standard output; -1: none or EOF */
	char *line;      /* output not yet ended by a newline */
	size_t len, cap;
	int status;      /* wait status, once exited */
	bool exited;
} demo_proc_t;

typedef void demo_line_fn(demo_proc_t *p, const char *line, void *arg);

/* Starts argv[0] (a path) with argv. Standard output goes to out_path
 * (created, truncated) or, when out_path is NULL, to a pipe read with
 * demo_proc_read; standard error to err_path (appended; NULL: inherited);
 * standard input is a pipe when pipe_in, else /dev/null. Returns 0 or -1
 * with errno set; a failed exec shows as exit status 127. */
int demo_proc_start(demo_proc_t *p, const char *name, char *const argv[], const char *out_path,
		    const char *err_path, bool pipe_in);

/* Reads what p's pipe holds without blocking and calls fn for each whole
 * line (without its newline). At end of file out_fd is closed and set to
 * -1, and a last unterminated line is passed on. */
void demo_proc_read(demo_proc_t *p, demo_line_fn *fn, void *arg);

/* Writes text and a newline to p's standard input. Returns 0, or -1 when
 * the process has gone (its input is then closed). */
int demo_proc_write(demo_proc_t *p, const char *text);

/* Closes p's standard input (end of file for the child). */
void demo_proc_close_input(demo_proc_t *p);

/* Collects p's exit status if it has exited. Returns true once it has. */
bool demo_proc_reap(demo_proc_t *p);

/* Sends sig to p, waits up to timeout_ms for it to exit, then sends SIGKILL
 * and waits. Returns p's exit code (0-255), or 128 + the signal that ended
 * it. Nothing is sent to a process already reaped. */
int demo_proc_stop(demo_proc_t *p, int sig, int timeout_ms);

/* Waits up to timeout_ms for p to exit by itself. Returns true if it did. */
bool demo_proc_wait(demo_proc_t *p, int timeout_ms);

/* p's exit code as demo_proc_stop returns it; -1 while it runs. */
int demo_proc_exit_code(const demo_proc_t *p);

/* Frees p's buffers and closes its pipes (the process is not signalled). */
void demo_proc_release(demo_proc_t *p);

/* SIGKILLs every process started with demo_proc_start that has not been
 * reaped: for the demo's exit paths, so nothing is left running. */
void demo_proc_kill_all(void);

#endif
