# More scattered user pages than the host maps in one process (src/sparse.c)
/lvmtest/sparse
echo "T sparse exited $?"
