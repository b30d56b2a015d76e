// PLACEHOLDER — being implemented (issue 3).
#include <errno.h>
#include "linux/proc_access.hpp"
namespace taskport {
const char* to_string(ThreadState) noexcept { return "todo"; }
std::vector<ThreadInfo> Task::threads() const { throw Error(ENOSYS, Step::read_threads, "todo"); }
}  // namespace taskport
