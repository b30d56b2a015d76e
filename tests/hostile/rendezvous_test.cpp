// SPDX-License-Identifier: MIT
// The rendezvous under hostile conditions (issue 10, cases 8, 9 and 12a, and
// the accept scenario of its Tests section): a child that hands over another
// process's memory, a foreign process flooding the socket, and no free
// descriptor when the handles arrive. The misbehaving children are
// tp_hostile_sender (helpers/sender.cpp), which speaks the wire format itself.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "hostile_support.hpp"
#include "support.hpp"

using namespace tp_hostile;
using taskport::Child;
using taskport::Command;
using taskport::Rendezvous;
using taskport::Stdio;
using taskport::Task;

namespace {

using clock_type = std::chrono::steady_clock;

std::string read_text(const Task& t, std::uint64_t address) {
  char buf[64] = {};
  t.read(address, buf, sizeof buf - 1);
  return std::string(buf);
}

}  // namespace

// ---- case 8: whose memory is it? --------------------------------------------------------

// The child sends its own pidfd (and the kernel's credentials are its own)
// but the /proc/<pid>/mem and maps of its own child. Either accept refuses
// them with an error of its own, or the Task it returns reads the child, not
// the other process. Afterwards an honest child is accepted as before.
TEST(HostileRendezvous, MemoryAndMapsOfAnotherProcessAreNotTakenForTheChilds) {
  expect_passed(isolated(40s, [](Report& r) {
    {
      Rendezvous rdv;
      Sender s = spawn_sender(rdv, {"--marker", "--foreign-mem", "--wait-stdin"});
      const std::uint64_t marker = std::strtoull(value_of(r, s, "marker").c_str(), nullptr, 0);
      const std::string grandchild = value_of(r, s, "grandchild");
      const std::uint64_t gcmap = std::strtoull(value_of(r, s, "gcmap").c_str(), nullptr, 0);
      if (!expect_line(r, s, "sent")) return;
      r.within(15s, "accept() of a handover with another process's mem and maps", [&] {
        try {
          Task t = rdv.accept(s.child, std::chrono::seconds(5));
          r.note("accepted");
          std::string text;
          try {
            text = read_text(t, marker);
          } catch (...) {
            text = "(read failed: " + describe_current_exception() + ")";
          }
          r.check(text != "grandchild-memory", "the Task reads the memory of pid " + grandchild +
                                                   " (the child's own child), not the child's: '" + text +
                                                   "'");
          std::optional<taskport::Region> region;
          try {
            region = t.region_at(gcmap);
          } catch (...) {
          }
          r.check(!region.has_value(), "the Task lists a mapping that only pid " + grandchild +
                                           " has (the child's maps are not these)");
        } catch (const taskport::Error& e) {
          r.note(std::string("refused: ") + e.what());
          r.check(e.errno_value() != ETIMEDOUT,
                  std::string("the handover was dropped silently (ETIMEDOUT) instead of refused with its own "
                              "error: ") +
                      e.what());
        }
      });
    }
    // The route stays usable.
    r.within(15s, "an honest rendezvous afterwards", [&] {
      Rendezvous rdv;
      Sender s = spawn_sender(rdv, {"--marker", "--honest", "--wait-stdin"});
      const std::uint64_t marker = std::strtoull(value_of(r, s, "marker").c_str(), nullptr, 0);
      if (!expect_line(r, s, "sent")) return;
      Task t = rdv.accept(s.child, std::chrono::seconds(5));
      r.check(read_text(t, marker) == "child-memory", "the honest child's Task does not read its memory");
    });
  }));
}

// Proving the descriptors must keep working for a child in another pid
// namespace (a container): its /proc/self/mem shows the inner pid.
TEST(HostileRendezvous, HonestChildInAnotherPidNamespaceIsStillAccepted) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a new pid namespace";
  if (::access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "needs unshare(1)";
  expect_passed(isolated(40s, [](Report& r) {
    Rendezvous rdv;
    Command cmd("/usr/bin/unshare");
    cmd.args({"--pid", "--fork", "--mount-proc", sender_path(), "--marker", "--honest", "--wait-stdin"})
        .standard_input(Stdio::piped())
        .standard_output(Stdio::piped());
    rdv.prepare(cmd);
    Sender s{cmd.spawn(), {}};
    s.child.kill_on_drop(true);
    const std::uint64_t marker = std::strtoull(value_of(r, s, "marker").c_str(), nullptr, 0);
    if (!expect_line(r, s, "sent")) return;
    std::set<pid_t> kids;
    if (!r.check(eventually([&] { return !(kids = descendants(s.child.pid())).empty(); }, 5s),
                 "no process inside the namespace")) {
      return;
    }
    const pid_t inner = *kids.begin();
    r.within(15s, "accept(pid) of a child in another pid namespace", [&] {
      Task t = rdv.accept(inner, std::chrono::seconds(5));
      r.check(read_text(t, marker) == "child-memory", "the Task does not read the child's memory");
    });
  }));
}

// ---- case 9: the deadline under a flood ----------------------------------------------------

// Sixteen processes other than the child keep the socket's queue full for
// 3 s (each datagram with 8 descriptors, costly to receive): accept(500 ms)
// must still end at its deadline — ETIMEDOUT within 1 s, not when the
// flood happens to pause.
TEST(HostileRendezvous, AcceptDeadlineHoldsWhileAForeignProcessFloodsTheSocket) {
  expect_passed(isolated(40s, [](Report& r) {
    Rendezvous rdv;
    Sender s = spawn_sender(rdv, {"--flooders", "16", "--flood", "3", "--wait-stdin"});
    if (!expect_line(r, s, "flooding")) return;
    std::this_thread::sleep_for(200ms);  // the flood is under way
    r.within(20s, "accept(500 ms) during a flood", [&] {
      const auto start = clock_type::now();
      try {
        rdv.accept(s.child, std::chrono::milliseconds(500));
        r.fail("accept() returned a Task although the child never sent one");
      } catch (const taskport::Error& e) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count();
        r.note("accept(500 ms) returned after " + std::to_string(ms) +
               " ms: " + std::string(e.what()).substr(0, 300));
        r.check(e.errno_value() == ETIMEDOUT, std::string("expected ETIMEDOUT: ") + e.what());
        r.check(ms < 1000, "accept(500 ms) took " + std::to_string(ms) +
                               " ms while a foreign process flooded the socket");
      }
    });
  }));
}
