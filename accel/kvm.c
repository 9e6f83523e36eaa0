/* The KVM engine (being written). */
#include "accel/accel.h"
#include <stdio.h>

static bool kvm_probe(char *why, size_t len)
{
    snprintf(why, len, "the KVM engine is not built yet");
    return false;
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .probe = kvm_probe,
};
