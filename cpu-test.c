/*
 * cpu-test: the CPU demo payload.  Spins one core forever, so that a CFS
 * quota shows up as a share of a core in top or in cpuacct.
 * Linked statically so it runs in any rootfs.
 */
int main(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
}
