#ifndef DYNSYNC_CLIBXML2_SHIM_H
#define DYNSYNC_CLIBXML2_SHIM_H

#include <libxml/xmlversion.h>

/* Debian's libxml2 is built with ICU, and its encoding.h then includes the system ICU headers,
 * whose declarations clash with the ICU that Foundation bundles on Linux. dynsync never touches
 * libxml2's encoding-handler structures (the only ones that change with ICU), so the ICU part of
 * the headers is left out. */
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlerror.h>

#endif
