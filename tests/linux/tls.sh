# glibc TLS, pthreads, signals and set_thread_area (src/tls.c), user code loading
# __USER_DS itself (src/userds.c), and modify_ldt data segments (src/ldt.c)
/lvmtest/tls
echo "T tls exited $?"
/lvmtest/userds
echo "T userds exited $?"
/lvmtest/ldt
echo "T ldt exited $?"
