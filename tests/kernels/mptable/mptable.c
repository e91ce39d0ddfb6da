/* mptable.c: the firmware tables a kernel finds by itself, as xv6's mpinit() and
 * Linux's find_smp_config() do: the BIOS data area (EBDA segment, base memory
 * size), the MP floating pointer searched in the EBDA, the last KiB of base
 * memory and the BIOS ROM, its checksums, and the configuration table's facts a
 * kernel uses: processors, the I/O APIC, the ISA bus and where each ISA IRQ goes. */
#include "desc.h"

static u8 sum(const u8 *p, u32 len)
{
	u8 s = 0;
	while (len--)
		s += *p++;
	return s;
}

static int is_mp(const u8 *p) { return p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_'; }

static const u8 *search(u32 base, u32 len)
{
	for (u32 a = base; a + 16 <= base + len; a += 16)
		if (is_mp((const u8 *)a) && sum((const u8 *)a, 16) == 0)
			return (const u8 *)a;
	return 0;
}

static const char *where(u32 a, u32 ebda, u32 basemem)
{
	if (a >= ebda && a < ebda + 1024) return "the EBDA";
	if (a >= basemem - 1024 && a < basemem) return "the last KiB of base memory";
	if (a >= 0xf0000 && a < 0x100000) return "the BIOS ROM";
	return "somewhere else";
}

void kmain(void)
{
	serial_init();
	desc_init();
	const volatile u8 *bda;
	asm("movl $0x400, %0" : "=r"(bda));             /* hide the constant from gcc */
	u32 com1 = *(const volatile u16 *)bda, kib = *(const volatile u16 *)(bda + 0x13);
	u32 ebda = (u32)*(const volatile u16 *)(bda + 0xe) << 4, basemem = kib * 1024;
	printf("BDA: COM1 %x, EBDA at %x, base memory %u KiB\n", com1, ebda, kib);
	const u8 *mp = search(ebda, 1024);
	if (!mp)
		mp = search(basemem - 1024, 1024);
	if (!mp)
		mp = search(0xf0000, 0x10000);
	if (!mp) {
		printf("no MP floating pointer\n");
		exit(0x7e);
	}
	printf("MP floating pointer in %s, revision 1.%u, feature byte %x\n",
	       where((u32)mp, ebda, basemem), mp[9], mp[11]);
	const u8 *t = (const u8 *)*(const u32 *)(mp + 4);
	u16 len = *(const u16 *)(t + 4), count = *(const u16 *)(t + 34);
	printf("table: %c%c%c%c, checksum %s, revision 1.%u, local APIC at %x\n", t[0], t[1], t[2],
	       t[3], sum(t, len) == 0 ? "ok" : "bad", t[6], *(const u32 *)(t + 36));
	int isa = -1, cpus = 0, ioapics = 0, ioapic_id = -1;
	const u8 *e = t + 44;
	for (int i = 0; i < count; i++) {                /* first pass: buses, CPUs */
		if (e[0] == 0) {
			cpus++;
			printf("processor: APIC id %u, %s%s\n", e[1], e[3] & 1 ? "enabled" : "disabled",
			       e[3] & 2 ? ", bootstrap" : "");
			e += 20;
			continue;
		}
		if (e[0] == 1 && e[2] == 'I' && e[3] == 'S' && e[4] == 'A')
			isa = e[1];
		if (e[0] == 2) {
			ioapics++;
			ioapic_id = e[1];
			printf("I/O APIC: id %u, %s, at %x\n", e[1], e[3] & 1 ? "enabled" : "disabled",
			       *(const u32 *)(e + 4));
		}
		e += 8;
	}
	printf("%u processor(s), %u I/O APIC(s), ISA bus %s\n", cpus, ioapics, isa >= 0 ? "found" : "missing");
	int pin_of[16];
	for (int i = 0; i < 16; i++)
		pin_of[i] = -1;
	int lint[2] = { -1, -1 };
	e = t + 44;
	for (int i = 0; i < count; i++) {
		if (e[0] == 0) {
			e += 20;
			continue;
		}
		if (e[0] == 3 && e[1] == 0 && e[4] == isa && e[5] < 16 && e[6] == ioapic_id)
			pin_of[e[5]] = e[7];
		if (e[0] == 4 && e[7] < 2)
			lint[e[7]] = e[1];
		e += 8;
	}
	printf("ISA IRQ -> I/O APIC input:");
	for (int i = 0; i < 16; i++)
		if (pin_of[i] >= 0)
			printf(" %u->%u", i, pin_of[i]);
	printf("\nLINT0 type %d, LINT1 type %d\n", lint[0], lint[1]);
	printf("done\n");
	exit(0);
}
