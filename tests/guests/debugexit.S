/* debug-exit: leaves through isa-debug-exit with a value other than the
 * success one; the runner checks the status is (0x2a << 1) | 1 = 85. Also
 * checks a write to another port of the device's range (iosize=4) exits
 * the same way: the first write is to 0xf6. */
#include "rom16.h"

main:
        PRINT("debug-exit: leaving with 0x2a through port 0xf6\n")
        mov $0x2a, %al
        out %al, $(DEBUG_EXIT + 2)
        PRINT("still running after the write\n")
        jmp finish
