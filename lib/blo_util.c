/*
 * blo_util: hex, whole-file I/O and time helpers shared by every module.
 */
#include "blo_util.h"

#include "blo_err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int blo_hex_encode(char *out, size_t outsz, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	if (outsz < 2 * n + 1)
		return BLO_ETOOBIG;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int blo_hex_decode(uint8_t *out, size_t want, const char *hex)
{
	if (hex == NULL || strlen(hex) != 2 * want)
		return BLO_EPARSE;
	for (size_t i = 0; i < want; i++) {
		int hi = hex_digit(hex[2 * i]);
		int lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return BLO_EPARSE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int blo_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int rc = 0;
	int fd;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = BLO_ETOOBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = BLO_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int blo_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = NULL;
	char *dircopy = NULL;
	int fd = -1;
	int dfd = -1;
	int rc = 0;

	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0) {
		tmp = NULL;
		return BLO_ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	/* open() applies the umask; the caller's mode is what we promise. */
	if (fchmod(fd, mode) != 0 || (rc = write_all(fd, data, len)) != 0 || fsync(fd) != 0) {
		if (rc == 0)
			rc = -errno;
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = -errno;
		goto out;
	}
	dircopy = strdup(path);
	if (dircopy == NULL) {
		rc = BLO_ENOMEM;
		goto out;
	}
	dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		fsync(dfd);
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dircopy);
	return rc;
}

int64_t blo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t blo_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t blo_mono_ms(void)
{
	/* CLOCK_MONOTONIC starts near 0 at boot: the offset keeps a field
	 * left at 0 ("never") a long time ago for a service that starts
	 * with the host, as it is with the wall clock. */
	return blo_mono_ns() / 1000000 + BLO_MONO_OFFSET_MS;
}

int64_t blo_mono_to_wall_ms(int64_t mono_ms)
{
	return mono_ms == 0 ? 0 : blo_now_ms() - (blo_mono_ms() - mono_ms);
}

int blo_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t n = strlen(src);

	if (n >= dstsz) {
		if (dstsz > 0)
			dst[0] = '\0';
		return BLO_ETOOBIG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}
