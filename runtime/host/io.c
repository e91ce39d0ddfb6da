/* io.c: IN, OUT, INS, OUTS (REP included) from guest code to the port bus.
 *
 * The I/O privilege check is the CPU's: CPL <= IOPL, or else the TSS I/O
 * permission bitmap allows every byte of the access (SDM vol. 1, 19.5).  String
 * forms move one element per iteration through the checked guest accessors, so a
 * fault in the middle leaves ECX/ESI/EDI where the CPU would (the MMU issue makes
 * those faults #PF).
 *
 * REP INS/OUTS on a port whose device moves blocks (the IDE data port: a sector is
 * `rep insl` of 128 dwords) go faster: the elements up to the end of the page, once
 * the whole run is known to be accessible, move in one call of the device's string
 * hook and one guest memory copy.  Anything unusual (DF=1, a segment limit or page
 * fault in the run, a device that stops) falls back to the element-by-element path,
 * which then faults exactly where the CPU would.
 */
#include "emulate.h"
#include "mmu.h"

/* A run of `rep ins/outs` elements within one page, moved at once; the number of
 * elements moved (0: take the element-by-element path). */
static u32 string_run(struct lvm_regs *r, const struct insn *in, bool out, int size, u32 amask)
{
	int seg = out ? in->seg : LVM_ES;
	struct segment *s = &cpu.seg[seg];
	u32 off = (out ? r->esi : r->edi) & amask, count = r->ecx & amask;
	if ((r->eflags & 0x400) || !(s->attr & 0x80) || !(s->attr & 0x10))
		return 0;                      /* DF=1, not present, not a code/data segment */
	u32 lin = s->base + off;
	u32 n = (0x1000 - (lin & 0xfff)) / size;
	if (n > count)
		n = count;
	u32 bytes = n * size;
	if (n == 0 || off > s->limit || s->limit - off < bytes - 1 || amask - off < bytes - 1)
		return 0;
	u16 port = r->edx;
	n = io_string(port, size, NULL, n, out);      /* how many the device takes now */
	if (n == 0)
		return 0;
	bytes = n * size;
	bool user = VCPU->cpl == 3;
	u32 gpa, err;
	if (!mmu_translate(lin, out ? MMU_READ : MMU_WRITE, user, &gpa, &err) || !gpa_ptr(gpa, bytes))
		return 0;
	u8 tmp[0x1000];
	if (out) {
		if (!mmu_access(lin, tmp, bytes, MMU_READ, user, NULL, NULL))
			return 0;
		io_string(port, size, tmp, n, true);
		return n;
	}
	io_string(port, size, tmp, n, false);
	if (!mmu_access(lin, tmp, bytes, MMU_WRITE, user, NULL, NULL))
		host_bug("rep ins: page at %#x checked writable, then not", lin);
	return n;
}

static bool io_allowed(u16 port, int size)
{
	if (VCPU->cpl <= iopl())
		return true;
	/* TSS I/O map base at offset 0x66; a 32-bit TSS only. */
	u16 map;
	if ((cpu.tr.attr & 0xf) != 0xb || cpu.tr.limit < 0x67 ||
	    !guest_read(cpu.tr.base + 0x66, &map, 2))
		return false;
	u32 byte = map + port / 8;
	u16 bits;
	if (byte + 1 > cpu.tr.limit || !guest_read(cpu.tr.base + byte, &bits, 2))
		return false;
	return ((bits >> (port & 7)) & ((1u << size) - 1)) == 0;
}

static void string_io(struct lvm_regs *r, const struct insn *in, bool out, int size)
{
	u32 amask = in->addr16 ? 0xffff : 0xffffffff;
	u16 port = r->edx;
	int step = (r->eflags & 0x400) ? -size : size;
	u32 *idx = out ? &r->esi : &r->edi;
	for (;;) {
		if (in->rep && (r->ecx & amask) == 0)
			break;
		u32 run = in->rep ? string_run(r, in, out, size, amask) : 0;
		if (run) {
			*idx = (*idx & ~amask) | ((*idx + run * size) & amask);
			r->ecx = (r->ecx & ~amask) | ((r->ecx - run) & amask);
			if (cpu.fault_regs) {
				struct lvm_regs *f = cpu.fault_regs;
				f->ecx = r->ecx, f->esi = r->esi, f->edi = r->edi;
			}
			continue;
		}
		u32 off = *idx & amask;
		if (out) {
			io_out(port, mem_read(r, in->seg, off, size), size);
		} else {
			/* Read the port only once the destination is known to be writable. */
			mem_check_write(r, LVM_ES, off, size);
			mem_write(r, LVM_ES, off, io_in(port, size), size);
		}
		*idx = (*idx & ~amask) | ((*idx + step) & amask);
		if (!in->rep)
			break;
		r->ecx = (r->ecx & ~amask) | ((r->ecx - 1) & amask);
		/* A fault on a later element must resume here, not redo earlier ones. */
		if (cpu.fault_regs) {
			struct lvm_regs *f = cpu.fault_regs;
			f->ecx = r->ecx, f->esi = r->esi, f->edi = r->edi;
		}
	}
}

bool emulate_io(struct lvm_regs *r, const struct insn *in)
{
	if (in->twobyte)
		return false;
	u8 op = in->op;
	int size = (op & 1) ? (in->opsize16 ? 2 : 4) : 1;
	u16 port;
	switch (op) {
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:
		port = in->imm & 0xff;
		break;
	case 0xec: case 0xed: case 0xee: case 0xef:
	case 0x6c: case 0x6d: case 0x6e: case 0x6f:
		port = r->edx & 0xffff;
		break;
	default:
		return false;
	}
	if (!io_allowed(port, size))
		raise_fault(r, EXC_GP, 0);
	if (op >= 0x6c && op <= 0x6f) {
		string_io(r, in, op >= 0x6e, size);
		return true;
	}
	if (op & 2)
		io_out(port, reg_get(r, 0, size), size);
	else
		reg_set(r, 0, size, io_in(port, size));
	return true;
}
