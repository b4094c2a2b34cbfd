#pragma once
// OpenBLAS's own cblas.h (found through pkg-config) also declares openblas_set_num_threads.
#include <cblas.h>
