# glibc TLS, pthreads, signals and set_thread_area (src/tls.c), and user code
# loading __USER_DS itself (src/userds.c), in the guest
/lvmtest/tls
echo "T tls exited $?"
/lvmtest/userds
echo "T userds exited $?"
