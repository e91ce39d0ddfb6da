/* extern.h: crc.c includes it for its own prototypes: see crc_extern.h. */
#include "crc_extern.h"
