// PLACEHOLDER — being implemented (issue 3).
#include <errno.h>
#include "linux/proc_access.hpp"
namespace taskport {
void Task::read(std::uint64_t, void*, std::size_t) const { throw Error(ENOSYS, Step::read_memory, "todo"); }
std::size_t Task::read_many(ReadRequest*, std::size_t) const { throw Error(ENOSYS, Step::read_memory, "todo"); }
void Task::write(std::uint64_t, const void*, std::size_t) { throw Error(ENOSYS, Step::write_memory, "todo"); }
}  // namespace taskport
