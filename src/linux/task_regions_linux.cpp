// PLACEHOLDER — being implemented (issue 3).
#include <errno.h>
#include "linux/proc_access.hpp"
namespace taskport {
const char* to_string(RegionKind) noexcept { return "todo"; }
std::vector<Region> Task::regions() const { throw Error(ENOSYS, Step::read_regions, "todo"); }
std::optional<Region> Task::region_at(std::uint64_t) const { throw Error(ENOSYS, Step::read_regions, "todo"); }
}  // namespace taskport
