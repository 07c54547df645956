#include "CFuzzerDriver.h"
// Only the declaration is needed; libclang_rt.fuzzer (-sanitize=fuzzer) defines it.
