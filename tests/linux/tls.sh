# glibc TLS, pthreads, signals and set_thread_area (src/tls.c) in the guest
/lvmtest/tls
echo "T tls exited $?"
