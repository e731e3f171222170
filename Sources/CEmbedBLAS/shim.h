#ifndef CEMBED_BLAS_SHIM_H
#define CEMBED_BLAS_SHIM_H
// Debian's libopenblas-dev: cblas.h from the OpenBLAS alternative. OpenBLAS picks its kernel for the CPU at run time.
#include <cblas.h>
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
#endif
