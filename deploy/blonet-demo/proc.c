/*
 * proc: starting, reading, and stopping the demo's child processes, always
 * by the PID the demo got from fork().
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* PIDs started and not yet reaped, for demo_proc_kill_all. */
#define MAX_LIVE 4096
static pid_t live[MAX_LIVE];
static size_t n_live;

static void live_add(pid_t pid)
{
	if (n_live < MAX_LIVE)
		live[n_live++] = pid;
}

static void live_remove(pid_t pid)
{
	for (size_t i = 0; i < n_live; i++) {
		if (live[i] == pid) {
			live[i] = live[--n_live];
			return;
		}
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* In the child: fd becomes target, or exits 127. */
static void redirect(int fd, int target)
{
	if (fd < 0 || dup2(fd, target) < 0)
		_exit(127);
	if (fd != target)
		close(fd);
}

int demo_proc_start(demo_proc_t *p, const char *name, char *const argv[], const char *out_path,
		    const char *err_path, bool pipe_in)
{
	int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->in_fd = p->out_fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	if ((pipe_in && pipe2(in_pipe, O_CLOEXEC) != 0) ||
	    (out_path == NULL && pipe2(out_pipe, O_CLOEXEC) != 0))
		goto fail;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		redirect(pipe_in ? in_pipe[0] : open("/dev/null", O_RDONLY), STDIN_FILENO);
		redirect(out_path == NULL ? out_pipe[1]
					  : open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644),
			 STDOUT_FILENO);
		if (err_path != NULL)
			redirect(open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644), STDERR_FILENO);
		execv(argv[0], argv);
		fprintf(stderr, "blonet-demo: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	p->pid = pid;
	live_add(pid);
	if (pipe_in) {
		close(in_pipe[0]);
		p->in_fd = in_pipe[1];
	}
	if (out_path == NULL) {
		close(out_pipe[1]);
		p->out_fd = out_pipe[0];
		fcntl(p->out_fd, F_SETFL, fcntl(p->out_fd, F_GETFL) | O_NONBLOCK);
	}
	return 0;
fail:
	{
		int saved = errno;

		close_fd(&in_pipe[0]);
		close_fd(&in_pipe[1]);
		close_fd(&out_pipe[0]);
		close_fd(&out_pipe[1]);
		errno = saved;
	}
	return -1;
}

static int append(demo_proc_t *p, const char *data, size_t n)
{
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		char *grown;

		while (cap < p->len + n + 1)
			cap *= 2;
		grown = realloc(p->line, cap);
		if (grown == NULL)
			return -1;
		p->line = grown;
		p->cap = cap;
	}
	memcpy(p->line + p->len, data, n);
	p->len += n;
	p->line[p->len] = '\0';
	return 0;
}

void demo_proc_read(demo_proc_t *p, demo_line_fn *fn, void *arg)
{
	char buf[65536];

	while (p->out_fd >= 0) {
		ssize_t n = read(p->out_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			close_fd(&p->out_fd);
			if (p->len > 0)
				fn(p, p->line, arg);
			p->len = 0;
			return;
		}
		for (ssize_t i = 0, start = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (i == n - 1 && append(p, buf + start, (size_t)(n - start)) != 0)
					return;
				continue;
			}
			if (append(p, buf + start, (size_t)(i - start)) != 0)
				return;
			fn(p, p->line, arg);
			p->len = 0;
			start = i + 1;
		}
	}
}

int demo_proc_write(demo_proc_t *p, const char *text)
{
	size_t len = strlen(text), done = 0;

	while (p->in_fd >= 0 && done <= len) {
		const char *from = done < len ? text + done : "\n";
		size_t want = done < len ? len - done : 1;
		ssize_t n = write(p->in_fd, from, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close_fd(&p->in_fd);
			return -1;
		}
		done += (size_t)n;
		if (done == len + 1)
			return 0;
	}
	return -1;
}

void demo_proc_close_input(demo_proc_t *p)
{
	close_fd(&p->in_fd);
}

bool demo_proc_reap(demo_proc_t *p)
{
	int status;
	pid_t r;

	if (p->exited || p->pid <= 0)
		return p->exited;
	r = waitpid(p->pid, &status, WNOHANG);
	if (r == p->pid) {
		p->status = status;
		p->exited = true;
		live_remove(p->pid);
	}
	return p->exited;
}

bool demo_proc_wait(demo_proc_t *p, int timeout_ms)
{
	struct timespec nap = {0, 20 * 1000 * 1000};

	for (int waited = 0; !demo_proc_reap(p); waited += 20) {
		if (waited >= timeout_ms)
			return false;
		nanosleep(&nap, NULL);
	}
	return true;
}

int demo_proc_exit_code(const demo_proc_t *p)
{
	if (!p->exited)
		return -1;
	if (WIFEXITED(p->status))
		return WEXITSTATUS(p->status);
	if (WIFSIGNALED(p->status))
		return 128 + WTERMSIG(p->status);
	return -1;
}

int demo_proc_stop(demo_proc_t *p, int sig, int timeout_ms)
{
	if (p->pid <= 0)
		return -1;
	if (!demo_proc_reap(p)) {
		kill(p->pid, sig);
		if (!demo_proc_wait(p, timeout_ms)) {
			kill(p->pid, SIGKILL);
			demo_proc_wait(p, 10000);
		}
	}
	return demo_proc_exit_code(p);
}

void demo_proc_release(demo_proc_t *p)
{
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	free(p->line);
	p->line = NULL;
	p->len = p->cap = 0;
}

void demo_proc_kill_all(void)
{
	for (size_t i = 0; i < n_live; i++) {
		kill(live[i], SIGKILL);
		waitpid(live[i], NULL, 0);
	}
	n_live = 0;
}
