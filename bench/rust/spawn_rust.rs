// SPDX-License-Identifier: MIT
//! Spawn benchmarks `rust_std` and `rust_std_pre_exec`: Rust's
//! `std::process::Command::spawn`, plain (posix_spawn inside std) and with a
//! trivial `pre_exec` hook (which makes std fall back to fork + exec).
//! `spawn()` returns once exec has succeeded (std reads its CLOEXEC error
//! pipe, or glibc's posix_spawn reports it); a stable-Rust caller then needs
//! `pidfd_open` for a race-free handle, so the timed region is
//! `spawn()` + `pidfd_open`, like the C++ `posix_spawn_pidfd` method.
//!
//! Mirrors bench/harness/harness.hpp: same command line, same ballast, same
//! timing loop, same percentiles, same JSON lines on stdout.
//!
//! std only, no crates: bench/run builds it offline with plain rustc
//! (`rustc --edition 2021 -C opt-level=3`), which also works with Debian's
//! rustc 1.63 and leaves no Cargo.lock or target/ in the source tree.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::io::{FromRawFd, OwnedFd}; // not std::os::fd: builds with Debian's rustc 1.63 too
use std::os::raw::{c_int, c_long};
use std::os::unix::process::CommandExt;
use std::process::{exit, Child, Command};
use std::time::Instant;

extern "C" {
    fn syscall(number: c_long, ...) -> c_long;
}

// pidfd_open has number 434 on every Linux architecture (unified table).
const SYS_PIDFD_OPEN: c_long = 434;

const METHODS: [&str; 2] = ["rust_std", "rust_std_pre_exec"];

struct Options {
    target: String,
    rss_mib: Vec<usize>,
    n: usize,
    warmup: usize,
    only: Vec<String>,
}

fn usage(why: &str) -> ! {
    if !why.is_empty() {
        eprintln!("spawn_rust: {why}");
    }
    eprintln!(
        "usage: spawn_rust --target PATH [--rss-mib 16,1024,4096] [--n 200] [--warmup 10]\n          [--method NAME]... | --list"
    );
    exit(2);
}

fn parse_options() -> Options {
    let mut o = Options { target: String::new(), rss_mib: vec![16, 1024, 4096], n: 200, warmup: 10, only: vec![] };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{a} needs a value")));
        match a.as_str() {
            "--target" => o.target = value(),
            "--rss-mib" => {
                let v = value();
                let mut list: Vec<usize> = v
                    .split(',')
                    .map(|s| s.parse::<usize>().ok().filter(|&x| x > 0).unwrap_or_else(|| usage(&format!("bad --rss-mib list: {v}"))))
                    .collect();
                list.sort_unstable();
                o.rss_mib = list;
            }
            "--n" => o.n = value().parse().ok().filter(|&x| x > 0).unwrap_or_else(|| usage("bad --n")),
            "--warmup" => o.warmup = value().parse().unwrap_or_else(|_| usage("bad --warmup")),
            "--method" => {
                let m = value();
                if !METHODS.contains(&m.as_str()) {
                    usage(&format!("unknown method: {m}"));
                }
                o.only.push(m);
            }
            "--list" => {
                for m in METHODS {
                    println!("{m}");
                }
                exit(0);
            }
            _ => usage(&format!("unknown argument: {a}")),
        }
    }
    if o.target.is_empty() {
        usage("--target is required");
    }
    o
}

fn current_rss_mib() -> f64 {
    let f = File::open("/proc/self/status").expect("open /proc/self/status");
    for line in BufReader::new(f).lines().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("VmRSS:") {
            let kb: f64 = rest.trim().trim_end_matches("kB").trim().parse().unwrap_or(0.0);
            return kb / 1024.0;
        }
    }
    0.0
}

/// Touched memory that brings VmRSS up to a target (never shrinks).
struct Ballast {
    chunks: Vec<Vec<u8>>,
}

impl Ballast {
    fn grow_rss_to(&mut self, mib: usize) -> f64 {
        for _ in 0..3 {
            let have = current_rss_mib();
            if have >= mib as f64 - 0.5 {
                break;
            }
            let bytes = (((mib as f64 - have) * 1024.0 * 1024.0) as usize + 4095) & !4095;
            // vec![0x5a; n] writes every byte: resident, private, dirty pages.
            self.chunks.push(vec![0x5au8; bytes]);
        }
        current_rss_mib()
    }
}

struct Stats {
    median: f64,
    p10: f64,
    p90: f64,
}

fn summarize(mut s: Vec<f64>) -> Stats {
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |q: f64| {
        let idx = q * (s.len() - 1) as f64;
        let (lo, hi) = (idx.floor() as usize, idx.ceil() as usize);
        s[lo] + (s[hi] - s[lo]) * (idx - lo as f64)
    };
    Stats { median: pct(0.5), p10: pct(0.1), p90: pct(0.9) }
}

fn pidfd_open(pid: u32) -> OwnedFd {
    // SAFETY: pidfd_open takes (pid_t, unsigned int) and returns a new fd or -1.
    let fd = unsafe { syscall(SYS_PIDFD_OPEN, pid as c_int, 0 as std::os::raw::c_uint) };
    if fd < 0 {
        panic!("pidfd_open: {}", std::io::Error::last_os_error());
    }
    // SAFETY: fd is a freshly opened descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as c_int) }
}

/// Spawn + handle: the timed region.
fn spawn(cmd: &mut Command) -> (Child, OwnedFd) {
    let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn: {e}"));
    let pidfd = pidfd_open(child.id());
    (child, pidfd)
}

fn reap(mut spawned: (Child, OwnedFd)) {
    let status = spawned.0.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    drop(spawned.1);
    if !status.success() {
        panic!("child did not exit 0: {status}");
    }
}

// Untimed spawns of each method before the first point.
const PROCESS_WARMUP: usize = 200;

fn main() {
    let o = parse_options();
    let mut plain = Command::new(&o.target);
    let mut hooked = Command::new(&o.target);
    // SAFETY: the hook does nothing, so it is trivially async-signal-safe.
    unsafe {
        hooked.pre_exec(|| Ok(()));
    }
    let mut methods: Vec<(&str, &mut Command)> = vec![("rust_std", &mut plain), ("rust_std_pre_exec", &mut hooked)];
    // Every method warms up once before anything is timed, as the C++
    // harness does (bench/harness/harness.cpp, kProcessWarmup).
    for (name, cmd) in methods.iter_mut() {
        if o.only.is_empty() || o.only.iter().any(|m| m == name) {
            for _ in 0..PROCESS_WARMUP {
                reap(spawn(cmd));
            }
        }
    }
    let mut ballast = Ballast { chunks: Vec::new() };
    let stdout = std::io::stdout();
    for &rss in &o.rss_mib {
        let measured = ballast.grow_rss_to(rss);
        for (name, cmd) in methods.iter_mut() {
            if !o.only.is_empty() && !o.only.iter().any(|m| m == name) {
                continue;
            }
            eprint!("  {name:<20} rss {rss:>5} MiB (VmRSS {measured:.0}): ");
            for _ in 0..o.warmup {
                reap(spawn(cmd));
            }
            let mut samples = Vec::with_capacity(o.n);
            for _ in 0..o.n {
                let t0 = Instant::now();
                let spawned = spawn(cmd);
                let t1 = Instant::now();
                samples.push((t1 - t0).as_secs_f64() * 1e6);
                reap(spawned);
            }
            let s = summarize(samples);
            eprintln!("median {:.1} us", s.median);
            let mut out = stdout.lock();
            writeln!(
                out,
                "{{\"benchmark\":\"spawn\",\"method\":\"{name}\",\"parent_rss_mib\":{rss},\"n\":{},\"median_us\":{:.2},\"p10_us\":{:.2},\"p90_us\":{:.2},\"measured_rss_mib\":{:.1},\"warmup\":{}}}",
                o.n, s.median, s.p10, s.p90, current_rss_mib(), o.warmup
            )
            .and_then(|_| out.flush())
            .expect("write stdout");
        }
    }
}
