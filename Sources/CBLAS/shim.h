// OpenBLAS's cblas.h (Debian: libopenblas-dev); also declares openblas_set_num_threads.
#include <cblas.h>
// glibc's mallopt (Tensors/HeapPolicy.swift).
#include <malloc.h>
