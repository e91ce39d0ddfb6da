/* main.c: lvm-monitor's command line (QEMU's spelling) and the boot sequence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stats.h"
#include "console.h"
#include "monitor.h"
#include "cpumodel.h"
#include "traps.h"
#include "irq.h"
#include "mmu.h"
#include "userproc.h"
#include "isolate.h"
#include "disk.h"
#include "gdb.h"
#include "boot/linux.h"

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: lvm-monitor [options] KERNEL\n"
		"  KERNEL           a Multiboot ELF32 kernel, or a Linux bzImage (32-bit boot protocol)\n"
		"  -m SIZE          guest memory (MiB, or with a K/M/G suffix; default 128M)\n"
		"  -append CMDLINE  kernel command line\n"
		"  -initrd FILE     initial ramdisk (Linux bzImage kernels)\n"
		"  -serial stdio    COM1 on stdin/stdout (the default and only choice); on a\n"
		"                   terminal: raw mode, Ctrl-A x quits, Ctrl-A h for help\n"
		"  -hda FILE, -hdb FILE   raw disk image as IDE primary master, slave\n"
		"  -drive file=FILE[,format=raw][,index=0|1][,if=ide]   the same, QEMU's long form\n"
		"  -trusted-user    trust the guest's user programs: a kernel above the user limit\n"
		"                   stays mapped while they run, guarded by segment limits only\n"
		"                   (fast; a program that loads the host's selector 0x2b escapes\n"
		"                   them: README, Security model); with -lvm-userproc off only\n"
		"  -lvm-userproc on|off   guest user code in a host process of its own (default on;\n"
		"                   LVM_USERPROC=0 too): no kernel page is ever mapped there, and a\n"
		"                   user/kernel transition is a handoff, not a revocation (off with\n"
		"                   -s/-gdb: the debugger's hardware breakpoints are this thread's)\n"
		"  -lvm-aspaces N   user processes kept for the N most recent guest address spaces\n"
		"                   (1-16, default 8; LVM_ASPACES=N): a context switch back to one\n"
		"                   keeps its mappings; 1: every switch refills the user's shadow\n"
		"  -lvm-isolate     isolated mode (LVM_ISOLATE=1, lvm run --isolate): all guest code\n"
		"                   runs in processes that can make no host system call, driven by\n"
		"                   ptrace from this one (slower; for kernels lvm should not trust)\n"
		"  -gdb tcp::PORT   a GDB remote stub on 127.0.0.1:PORT (-gdb unix:PATH: a Unix socket)\n"
		"  -s               the same as -gdb tcp::1234\n"
		"  -S               wait for the debugger before the first guest instruction\n"
		"  -nographic, -no-reboot, -display none   accepted for QEMU compatibility\n"
		"exit status: the guest's (port 0xf4: (value << 1) | 1), 0 on power-off, reset or Ctrl-A x,\n"
		"  %d on a guest error (triple fault, not emulated), %d on usage errors\n",
		EXIT_GUEST_ERROR, EXIT_USAGE);
	exit(status);
}

static u32 parse_size(const char *s)
{
	if (!*s) {
		fprintf(stderr, "lvm: -m '': the size is empty (expected one between 2M and 3G)\n");
		exit(EXIT_USAGE);
	}
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	switch (*end) {
	case 'G': case 'g': v <<= 30; end++; break;
	case 'M': case 'm': case 0: v <<= 20; if (*end) end++; break;
	case 'K': case 'k': v <<= 10; end++; break;
	}
	if (*end || v < (2u << 20) || v > (3ull << 30)) {
		fprintf(stderr, "lvm: -m %s: expected a size between 2M and 3G\n", s);
		exit(EXIT_USAGE);
	}
	return (u32)(v & ~0xfffull);
}

/* LVM_STATS=1: what the MMU did, on stderr at exit (tests and benchmarks read it). */
static void print_stats(void)
{
	fprintf(stderr, "lvm stats: fills %llu around %llu mirror_fills %llu flushes %llu invlpgs %llu "
		"revoked %llu unrevoked %llu device_insns %llu cr3_loads %llu dropped %llu "
		"user_runs %llu user_maps %llu user_unmaps %llu user_ldts %llu user_resets %llu "
		"aspace_switches %llu aspace_misses %llu retry_fills %llu kernel_refills %llu "
		"kernel_resets %llu anchors %llu\n",
		(unsigned long long)mmu_stats.fills,
		(unsigned long long)mmu_stats.around,
		(unsigned long long)mmu_stats.mirror_fills, (unsigned long long)mmu_stats.flushes,
		(unsigned long long)mmu_stats.invlpgs, (unsigned long long)mmu_stats.revoked,
		(unsigned long long)mmu_stats.unrevoked,
		(unsigned long long)mmu_stats.device_insns, (unsigned long long)mmu_stats.cr3_loads,
		(unsigned long long)mmu_stats.dropped, (unsigned long long)mmu_stats.user_runs,
		(unsigned long long)mmu_stats.user_maps, (unsigned long long)mmu_stats.user_unmaps,
		(unsigned long long)mmu_stats.user_ldts, (unsigned long long)mmu_stats.user_resets,
		(unsigned long long)mmu_stats.aspace_switches, (unsigned long long)mmu_stats.aspace_misses,
		(unsigned long long)mmu_stats.retry_fills,
		(unsigned long long)mmu_stats.kernel_refills, (unsigned long long)mmu_stats.kernel_resets,
		(unsigned long long)mmu_stats.anchors);
	stats_print();
}

/* -lvm-aspaces N or LVM_ASPACES: 1..ASPACES_MAX user processes. */
static bool set_aspaces(const char *v, const char *what, char sep)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (*v && !*end && n >= 1 && n <= ASPACES_MAX) {
		aspaces_max = (int)n;
		return true;
	}
	fprintf(stderr, "lvm: %s%c%s: expected a number of address spaces from 1 to %d\n", what, sep,
		v, ASPACES_MAX);
	return false;
}

/* An option whose value is missing: its place was taken by KERNEL, or by nothing. */
static void missing_value(const char *opt)
{
	fprintf(stderr, "lvm: %s: its value is missing (KERNEL comes last: %s VALUE ... KERNEL)\n",
		opt, opt);
	exit(EXIT_USAGE);
}

static bool takes_value(const char *a)
{
	static const char *const opts[] = { "-m", "-append", "-initrd", "-hda", "-hdb", "-hdc", "-hdd",
					    "-drive", "-kernel", "-serial", "-display", "-gdb" };
	for (unsigned i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (!strcmp(a, opts[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	u32 memsize = 128u << 20;
	int userproc_option = -1;             /* -lvm-userproc; else LVM_USERPROC */
	bool aspaces_option = false;          /* -lvm-aspaces given: LVM_ASPACES is not read */
	const char *kernel = NULL, *cmdline = "", *initrd = NULL;
	/* KERNEL is the last word unless -kernel names it: an option's value cannot be. */
	int last_value = argc - 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-kernel") || !strcmp(argv[i], "--kernel"))
			last_value = argc;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-')
			a++;                                   /* --m as -m, like QEMU */
		bool has_arg = i + 1 < last_value;
		if (takes_value(a) && !has_arg)
			missing_value(argv[i]);
		if (!strcmp(a, "-h") || !strcmp(a, "-help"))
			usage(0);
		else if (!strcmp(a, "-m") && has_arg)
			memsize = parse_size(argv[++i]);
		else if (!strcmp(a, "-append") && has_arg)
			cmdline = argv[++i];
		else if (!strcmp(a, "-initrd") && has_arg)
			initrd = argv[++i];
		else if (!strncmp(a, "-hd", 3) && a[3] >= 'a' && a[3] <= 'd' && !a[4] && has_arg) {
			/* -hdc and -hdd (the secondary channel) are refused by index */
			disk_option_hd(a[3] - 'a', argv[i + 1], a);
			i++;
		} else if (!strcmp(a, "-drive") && has_arg)
			disk_option_drive(argv[++i]);
		else if (!strcmp(a, "-kernel") && has_arg)
			kernel = argv[++i];
		else if (!strcmp(a, "-serial") && has_arg) {
			if (strcmp(argv[++i], "stdio")) {
				fprintf(stderr, "lvm: -serial %s: only 'stdio' is supported\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if (!strcmp(a, "-display") && has_arg)
			i++;
		else if (!strcmp(a, "-nographic") || !strcmp(a, "-no-reboot"))
			;
		else if (!strcmp(a, "-gdb") && has_arg)
			gdb_option(argv[++i]);
		else if (!strcmp(argv[i], "-s"))
			gdb_option("tcp::1234");
		else if (!strcmp(argv[i], "-S"))
			gdb_wait_at_start();
		else if (!strcmp(a, "-trusted-user"))
			mmu_trust_user = true;
		else if (!strcmp(a, "-lvm-isolate"))
			isolate_wanted = true;
		else if (!strcmp(a, "-lvm-userproc") && has_arg) {
			const char *v = argv[++i];
			if (strcmp(v, "on") && strcmp(v, "off")) {
				fprintf(stderr, "lvm: -lvm-userproc %s: expected on or off\n", v);
				return EXIT_USAGE;
			}
			userproc_option = !strcmp(v, "on") ? 1 : 0;
		}
		else if (!strcmp(a, "-lvm-aspaces") && has_arg) {
			if (!set_aspaces(argv[++i], "-lvm-aspaces", ' '))
				return EXIT_USAGE;
			aspaces_option = true;
		}
		else if (a[0] == '-') {
			fprintf(stderr, "lvm: unknown option %s (try -help)\n", argv[i]);
			return EXIT_USAGE;
		} else if (!kernel)
			kernel = a;
		else {
			fprintf(stderr, "lvm: more than one kernel given (%s, %s)\n", kernel, a);
			return EXIT_USAGE;
		}
	}
	if (!kernel)
		usage(EXIT_USAGE);
	const char *stats = getenv("LVM_STATS");
	if (stats && *stats && strcmp(stats, "0")) {
		stats_on = true;
		atexit(print_stats);
	}

	/* LVM_SHADOW=refill: every CR3 load throws the shadow away, as before ptsnap.c
	 * (bench/mmu.py measures both designs side by side). */
	const char *shadow = getenv("LVM_SHADOW");
	mmu_cr3_refill = shadow && !strcmp(shadow, "refill");

	struct lvm_regs r;
	if (hostseg_init() < 0 || mem_init(memsize) < 0 || entry_init() < 0)
		return EXIT_HOST_BUG;
	firmware_init();
	int bz = load_linux(kernel, cmdline, initrd, &r);
	if (bz < 0)
		return EXIT_BAD_KERNEL;
	if (bz == LINUX_NOT_BZIMAGE && initrd) {
		fprintf(stderr, "lvm: -initrd %s: %s is not a Linux bzImage; lvm passes an initrd "
			"only by Linux's boot protocol\n", initrd, kernel);
		return EXIT_USAGE;
	}
	if (bz == LINUX_NOT_BZIMAGE && load_multiboot(kernel, cmdline, &r) < 0)
		return EXIT_BAD_KERNEL;
	segments_reset();
	linux_boot_segments();
	VCPU->cr[0] = 0x11;                /* PE, ET */
	uart_init();
	rtc_init();
	i8042_init();
	debugexit_init();
	post_init();
	vga_init();
	ata_init();
	if (irq_init() < 0)
		return EXIT_HOST_BUG;
	if (signals_init() < 0)
		return EXIT_HOST_BUG;
	console_init();                    /* after signals_init: its handlers restore the terminal */
	if (gdb_init() < 0)
		return EXIT_HOST_BUG;
	const char *as = getenv("LVM_ASPACES");
	if (as && *as && !aspaces_option && !set_aspaces(as, "LVM_ASPACES", '='))
		return EXIT_USAGE;
	/* User code in a process of its own (userproc.c), unless -lvm-userproc off or
	 * LVM_USERPROC=0; not with a debugger (its hardware breakpoints and
	 * watchpoints are the monitor's thread's). */
	const char *up = getenv("LVM_USERPROC");
	if (userproc_option < 0)
		userproc_option = !(up && (!strcmp(up, "0") || !strcmp(up, "off")));
	const char *iso = getenv("LVM_ISOLATE");
	if (iso && *iso && strcmp(iso, "0") && strcmp(iso, "off"))
		isolate_wanted = true;
	if (isolate_wanted && gdb_wanted()) {
		fprintf(stderr, "lvm: a debugger (-s, -gdb) and isolated mode do not go together yet: "
			"the debugger's breakpoints are the monitor's own\n");
		return EXIT_USAGE;
	}
	userproc_wanted = userproc_option && !gdb_wanted() && !isolate_wanted;
	cpuid_fault_probe();
	if (userproc_start() < 0 || isolate_start() < 0)
		return EXIT_HOST_BUG;
	if (!userproc_active() && !isolate_active())
		cpuid_fault_here();          /* user code in this process: its CPUID traps too */
	fflush(stdout);
	if (allowlist_install() < 0)
		return EXIT_HOST_BUG;
	resume(&r);
}
