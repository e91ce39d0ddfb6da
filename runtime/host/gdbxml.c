/* gdbxml.c: the target description gdb reads (qXfer:features:read:target.xml), and
 * the system registers it declares.
 *
 * The description is gdb's own i386 one, so that gdb's i386 code accepts it and the
 * numbering stays what it was without one: org.gnu.gdb.i386.core (gdb's
 * features/i386/32bit-core.xml: eax..edi eip eflags cs ss ds es fs gs, 0-15, which
 * the `g` packet carries; st0-st7 fctrl..fop, 16-31, without which gdb rejects the
 * description) and org.gnu.gdb.i386.sse (32bit-sse.xml: xmm0-xmm7 mxcsr, 32-40, the
 * rest of gdb's default i386 registers); `p` reads the x87/SSE ones as unavailable.
 * Then org.gnu.gdb.i386.sys (OpenOCD's name for it; QEMU puts these in its core
 * feature, gdb finds them by name): cr0 cr2 cr3 cr4, 41-44, with QEMU's names and
 * flag types, so `info registers cr0` prints the same as against QEMU.  Their values are the
 * monitor's (VCPU->cr[] at a stop is the monitor's own copy, vcpupage.c); `P` on
 * them is refused (E01): the guest changes its control registers itself.
 *
 * The text has none of the characters a packet escapes ($ # } *).
 */
#include <stdio.h>
#include <string.h>
#include "gdb.h"

static const char target_xml[] =
	"<?xml version=\"1.0\"?>\n"
	"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	"<target version=\"1.0\">\n"
	"<architecture>i386</architecture>\n"
	"<feature name=\"org.gnu.gdb.i386.core\">\n"
	"<flags id=\"i386_eflags\" size=\"4\">\n"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>\n"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>\n"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>\n"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>\n"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>\n"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>\n"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>\n"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>\n"
	"<field name=\"ID\" start=\"21\" end=\"21\"/>\n"
	"</flags>\n"
	"<reg name=\"eax\" bitsize=\"32\" type=\"int32\" regnum=\"0\"/>\n"
	"<reg name=\"ecx\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"edx\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ebx\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"esp\" bitsize=\"32\" type=\"data_ptr\"/>\n"
	"<reg name=\"ebp\" bitsize=\"32\" type=\"data_ptr\"/>\n"
	"<reg name=\"esi\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"edi\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"eip\" bitsize=\"32\" type=\"code_ptr\"/>\n"
	"<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
	"<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
	"<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.sse\">\n"
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
	"<union id=\"vec128\">\n"
	"<field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>\n"
	"<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>\n"
	"<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>\n"
	"<field name=\"uint128\" type=\"uint128\"/>\n"
	"</union>\n"
	"<flags id=\"i386_mxcsr\" size=\"4\">\n"
	"<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>\n"
	"<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>\n"
	"<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>\n"
	"<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>\n"
	"<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>\n"
	"<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>\n"
	"<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>\n"
	"</flags>\n"
	"<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"32\"/>\n"
	"<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>\n"
	"<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
	"</feature>\n"
	"<feature name=\"org.gnu.gdb.i386.sys\">\n"
	"<flags id=\"i386_cr0\" size=\"4\">\n"
	"<field name=\"PG\" start=\"31\" end=\"31\"/><field name=\"CD\" start=\"30\" end=\"30\"/>\n"
	"<field name=\"NW\" start=\"29\" end=\"29\"/><field name=\"AM\" start=\"18\" end=\"18\"/>\n"
	"<field name=\"WP\" start=\"16\" end=\"16\"/><field name=\"NE\" start=\"5\" end=\"5\"/>\n"
	"<field name=\"ET\" start=\"4\" end=\"4\"/><field name=\"TS\" start=\"3\" end=\"3\"/>\n"
	"<field name=\"EM\" start=\"2\" end=\"2\"/><field name=\"MP\" start=\"1\" end=\"1\"/>\n"
	"<field name=\"PE\" start=\"0\" end=\"0\"/>\n"
	"</flags>\n"
	"<flags id=\"i386_cr3\" size=\"4\">\n"
	"<field name=\"PDBR\" start=\"12\" end=\"31\"/><field name=\"PCID\" start=\"0\" end=\"11\"/>\n"
	"</flags>\n"
	"<flags id=\"i386_cr4\" size=\"4\">\n"
	"<field name=\"OSXMMEXCPT\" start=\"10\" end=\"10\"/><field name=\"OSFXSR\" start=\"9\" end=\"9\"/>\n"
	"<field name=\"PCE\" start=\"8\" end=\"8\"/><field name=\"PGE\" start=\"7\" end=\"7\"/>\n"
	"<field name=\"MCE\" start=\"6\" end=\"6\"/><field name=\"PAE\" start=\"5\" end=\"5\"/>\n"
	"<field name=\"PSE\" start=\"4\" end=\"4\"/><field name=\"DE\" start=\"3\" end=\"3\"/>\n"
	"<field name=\"TSD\" start=\"2\" end=\"2\"/><field name=\"PVI\" start=\"1\" end=\"1\"/>\n"
	"<field name=\"VME\" start=\"0\" end=\"0\"/>\n"
	"</flags>\n"
	"<reg name=\"cr0\" bitsize=\"32\" type=\"i386_cr0\" regnum=\"41\"/>\n"
	"<reg name=\"cr2\" bitsize=\"32\" type=\"int32\"/>\n"
	"<reg name=\"cr3\" bitsize=\"32\" type=\"i386_cr3\"/>\n"
	"<reg name=\"cr4\" bitsize=\"32\" type=\"i386_cr4\"/>\n"
	"</feature>\n"
	"</target>\n";

bool gdb_sys_reg_get(unsigned n, u32 *v)
{
	static const int cr_of[GDB_SYS_REGS] = { 0, 2, 3, 4 };
	if (n < GDB_REG_CR0 || n >= GDB_REG_CR0 + GDB_SYS_REGS)
		return false;
	*v = VCPU->cr[cr_of[n - GDB_REG_CR0]];
	return true;
}

/* qXfer:features:read:ANNEX:OFFSET,LENGTH: `m` and a part, `l` and the last part
 * (or nothing past the end); E00 for another annex, E01 for a malformed request. */
void gdb_xfer_features(const char *args, char *reply, size_t max)
{
	const char *colon = strchr(args, ':');
	if (!colon || (size_t)(colon - args) != strlen("target.xml") ||
	    strncmp(args, "target.xml", colon - args)) {
		strcpy(reply, "E00");
		return;
	}
	const char *q = colon + 1;
	u32 off = gdb_hex(&q);
	if (*q++ != ',') {
		strcpy(reply, "E01");
		return;
	}
	u32 len = gdb_hex(&q);
	size_t total = sizeof target_xml - 1, n = 0;
	if (len > max - 2)
		len = max - 2;
	if (off > total)
		off = total;
	reply[0] = 'm';
	while (n < len && off + n < total)
		reply[1 + n] = target_xml[off + n], n++;
	if (off + n >= total)
		reply[0] = 'l';
	reply[1 + n] = 0;
}
