/*
 * strue: a static /bin/true for the benchmarks (issue 7).  The rootfs's own
 * true is dynamically linked, and loading libc would be most of what a
 * start-latency run measures; this one costs one execve and one exit.
 * Installed as rootfs/bin/strue by `make bench`.
 */
int main(void)
{
	return 0;
}
