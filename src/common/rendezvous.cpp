// SPDX-License-Identifier: MIT
// The platform-neutral part of Rendezvous (taskport/rendezvous.hpp). The
// backends define Impl, the destructor and the move constructor (each needs
// Impl complete); what is written here does not.
#include "taskport/rendezvous.hpp"

namespace taskport {

// The Rendezvous this one held ends with `old` (its destructor lets a waiting
// child go on). Self-assignment keeps the state: `old` takes it and gives it
// back.
Rendezvous& Rendezvous::operator=(Rendezvous&& other) noexcept {
  Rendezvous old(std::move(other));
  impl_.swap(old.impl_);
  return *this;
}

}  // namespace taskport
