#ifndef DYNSYNC_CZLIB_SHIM_H
#define DYNSYNC_CZLIB_SHIM_H

#include <zlib.h>

#endif
