// SPDX-License-Identifier: MIT
// tp_output_writer OUT_MIB ERR_MIB EXIT_CODE — writes OUT_MIB MiB to stdout
// and ERR_MIB MiB to stderr, interleaved in 4 KiB chunks (so a reader that
// drains only one stream at a time would deadlock once the other pipe is
// full), then exits with EXIT_CODE. Chunk i of stdout is filled with
// 'a' + i % 26, of stderr with 'A' + i % 26: the reader can check order and
// completeness.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace {

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::_exit(120);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  constexpr size_t kChunk = 4096;
  const size_t out_chunks = static_cast<size_t>(std::atol(argv[1])) * (1 << 20) / kChunk;
  const size_t err_chunks = static_cast<size_t>(std::atol(argv[2])) * (1 << 20) / kChunk;
  char chunk[kChunk];
  for (size_t i = 0; i < out_chunks || i < err_chunks; ++i) {
    if (i < out_chunks) {
      std::memset(chunk, 'a' + static_cast<int>(i % 26), sizeof chunk);
      write_all(1, chunk, sizeof chunk);
    }
    if (i < err_chunks) {
      std::memset(chunk, 'A' + static_cast<int>(i % 26), sizeof chunk);
      write_all(2, chunk, sizeof chunk);
    }
  }
  return std::atoi(argv[3]);
}
