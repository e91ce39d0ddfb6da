# glibc TLS, pthreads, signals and set_thread_area (src/tls.c), user code loading
# __USER_DS itself (src/userds.c), modify_ldt data segments (src/ldt.c), and what
# user code's CPUID says of vector state the kernel does not save (src/cpuid.c)
/lvmtest/tls
echo "T tls exited $?"
/lvmtest/userds
echo "T userds exited $?"
/lvmtest/ldt
echo "T ldt exited $?"
/lvmtest/cpuid
echo "T cpuid exited $?"
