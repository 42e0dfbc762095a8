/* Public entry points shared by the network handles. */
#include <string.h>

#include "core/struct_io.h"
#include "ddgan/ddgan.h"

DDGAN_API ddgan_status_t ddgan_model_summary_init(ddgan_model_summary *s, size_t struct_size)
{
    ddgan_model_summary d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    return ddgan__struct_init(s, struct_size, &d, sizeof d, "ddgan_model_summary_init");
}

DDGAN_API ddgan_status_t ddgan_tensor_info_init(ddgan_tensor_info *t, size_t struct_size)
{
    ddgan_tensor_info d;
    memset(&d, 0, sizeof d);
    d.struct_size = sizeof d;
    d.name = "";
    return ddgan__struct_init(t, struct_size, &d, sizeof d, "ddgan_tensor_info_init");
}
