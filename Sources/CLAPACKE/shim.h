#include <lapacke.h>
typedef lapack_int clapack_int;   // lapack_int is a macro: Swift can't see it without this
