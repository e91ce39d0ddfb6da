/* firmware.c: what a PC BIOS leaves in memory for the kernel it boots.
 *
 * The BIOS data area (0x400: COM1's port, the equipment word, the base memory size,
 * the segment of the extended BIOS data area), an empty 1 KiB EBDA at 0x9fc00, and
 * an Intel MultiProcessor Specification 1.4 configuration: the floating pointer
 * ("_MP_") in the BIOS ROM area, where kernels scan for it, and the table ("PCMP")
 * it points to: one processor (the BSP, local APIC ID 0), the ISA bus, the I/O
 * APIC (ID 0 at 0xfec00000), an interrupt entry per ISA IRQ (IRQ 0 on input 2,
 * the others on the input of the same number, ExtINT from the 8259A on input 0),
 * except the cascade and the four SeaBIOS reserves for PCI, and the local interrupts (LINT0 ExtINT, LINT1 NMI).  The layout follows what
 * SeaBIOS builds on QEMU, so kernels see the same machine in both.
 */
#include <string.h>
#include "monitor.h"
#include "cpumodel.h"

#define BDA 0x400u
#define EBDA 0x9fc00u
#define MP_FLOAT 0xf5000u           /* in the read-only BIOS area */
#define MP_TABLE (MP_FLOAT + 16)
#define ISA_BUS 0
#define IOAPIC_ID 0

static void put16(u32 gpa, u16 v) { memcpy(gpa_ptr(gpa, 2), &v, 2); }

static u8 checksum(const u8 *p, u32 len)
{
	u8 sum = 0;
	while (len--)
		sum += *p++;
	return (u8)-sum;
}

static void bios_data_area(void)
{
	put16(BDA + 0x00, 0x3f8);                   /* COM1 */
	put16(BDA + 0x10, 0x0021);                  /* equipment word */
	put16(BDA + 0x0e, EBDA >> 4);               /* segment of the EBDA */
	put16(BDA + 0x13, EBDA >> 10);              /* base memory in KiB: 639 */
	memset(gpa_ptr(EBDA, 0x400), 0, 0x400);
	*(u8 *)gpa_ptr(EBDA, 1) = 1;                /* its size in KiB */
}

/* Append one entry to the table being built at *at. */
static void entry(u8 **at, const void *e, u32 len, u16 *count)
{
	memcpy(*at, e, len);
	*at += len;
	(*count)++;
}

static void mp_tables(void)
{
	u8 *t = gpa_ptr(MP_TABLE, 0x400), *at = t + 44;
	u16 count = 0;
	struct cpuid_leaf id = cpuid_model(1, 0);
	u8 cpu[20] = { 0, 0, 0x14, 0x03 };          /* processor: APIC 0, version, EN | BP */
	memcpy(cpu + 4, &id.eax, 4);                /* signature */
	memcpy(cpu + 8, &id.edx, 4);                /* feature flags */
	entry(&at, cpu, sizeof cpu, &count);
	u8 bus[8] = { 1, ISA_BUS, 'I', 'S', 'A', ' ', ' ', ' ' };
	entry(&at, bus, sizeof bus, &count);
	u8 ioapic[8] = { 2, IOAPIC_ID, 0x20, 0x01 };
	u32 addr = 0xfec00000u;
	memcpy(ioapic + 4, &addr, 4);
	entry(&at, ioapic, sizeof ioapic, &count);
	u8 extint[8] = { 3, 3, 0, 0, ISA_BUS, 0, IOAPIC_ID, 0 };   /* 8259A -> input 0 */
	entry(&at, extint, sizeof extint, &count);
	for (int irq = 0; irq < 16; irq++) {
		if (irq == 2 || irq == 5 || irq == 9 || irq == 10 || irq == 11)
			continue;       /* the cascade; SeaBIOS keeps 5, 9-11 for PCI: so do we */
		u8 e[8] = { 3, 0, 0, 0, ISA_BUS, (u8)irq, IOAPIC_ID, (u8)(irq == 0 ? 2 : irq) };
		entry(&at, e, sizeof e, &count);
	}
	u8 lint0[8] = { 4, 3, 0, 0, ISA_BUS, 0, 0xff, 0 };   /* ExtINT on LINT0 of all CPUs */
	u8 lint1[8] = { 4, 1, 0, 0, ISA_BUS, 0, 0xff, 1 };   /* NMI on LINT1 */
	entry(&at, lint0, sizeof lint0, &count);
	entry(&at, lint1, sizeof lint1, &count);

	u16 len = (u16)(at - t);
	memcpy(t, "PCMP", 4);
	memcpy(t + 4, &len, 2);
	t[6] = 4;                                   /* spec revision 1.4 */
	memcpy(t + 8, "LVM     ", 8);               /* OEM ID */
	memcpy(t + 16, "PC          ", 12);         /* product ID */
	memcpy(t + 34, &count, 2);
	u32 lapic = 0xfee00000u;
	memcpy(t + 36, &lapic, 4);
	t[7] = checksum(t, len);

	u8 *f = gpa_ptr(MP_FLOAT, 16);
	memset(f, 0, 16);
	memcpy(f, "_MP_", 4);
	u32 table = MP_TABLE;
	memcpy(f + 4, &table, 4);
	f[8] = 1;                                   /* length in paragraphs */
	f[9] = 4;                                   /* revision 1.4 */
	f[10] = checksum(f, 16);
}

void firmware_init(void)
{
	bios_data_area();
	mp_tables();
}
