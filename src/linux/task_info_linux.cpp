// PLACEHOLDER — being implemented (issue 3).
#include <errno.h>
#include "linux/proc_access.hpp"
namespace taskport {
TaskInfo Task::info() const { throw Error(ENOSYS, Step::read_info, "todo"); }
}  // namespace taskport
