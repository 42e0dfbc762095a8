#include "ddgan/ddgan.h"

DDGAN_API const char *ddgan_version_string(void) { return DDGAN_VERSION_STRING; }

DDGAN_API unsigned ddgan_version_number(void) { return DDGAN_VERSION_NUMBER; }
