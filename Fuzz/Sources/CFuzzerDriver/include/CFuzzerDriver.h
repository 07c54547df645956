// libFuzzer's driver, for an entry point of our own (SwiftPM links an executable's main to
// <module>_main, so libFuzzer's main is never pulled in).
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
