// SPDX-License-Identifier: MIT
/* Cross-check shim for <mach/mach_vm.h> (see ../../README.md). Declares only
 * the routines taskport uses; signatures as in the macOS SDK, where the
 * vm_map_read_t parameters are mach_port_t typedefs. */
#ifndef TASKPORT_SHIM_MACH_VM_H
#define TASKPORT_SHIM_MACH_VM_H

#include <mach/mach_types.h>
#include <mach/message.h>
#include <mach/vm_region.h>

#ifdef __cplusplus
extern "C" {
#endif

kern_return_t mach_vm_read_overwrite(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                                     mach_vm_address_t data, mach_vm_size_t *outsize);
kern_return_t mach_vm_write(vm_map_t target_task, mach_vm_address_t address, vm_offset_t data,
                            mach_msg_type_number_t dataCnt);
kern_return_t mach_vm_protect(vm_map_t target_task, mach_vm_address_t address, mach_vm_size_t size,
                              boolean_t set_maximum, vm_prot_t new_protection);
kern_return_t mach_vm_region(vm_map_t target_task, mach_vm_address_t *address, mach_vm_size_t *size,
                             vm_region_flavor_t flavor, vm_region_info_t info, mach_msg_type_number_t *infoCnt,
                             mach_port_t *object_name);
kern_return_t mach_vm_region_recurse(vm_map_t target_task, mach_vm_address_t *address, mach_vm_size_t *size,
                                     natural_t *nesting_depth, vm_region_recurse_info_t info,
                                     mach_msg_type_number_t *infoCnt);
kern_return_t mach_vm_deallocate(vm_map_t target, mach_vm_address_t address, mach_vm_size_t size);

#ifdef __cplusplus
}
#endif

#endif
