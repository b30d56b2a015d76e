// SPDX-License-Identifier: MIT
#include "macos/code_signing.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/proc.h>
#include <sys/sysctl.h>

#include <cstring>
#include <string>
#include <vector>

// xnu bsd/sys/codesign.h (libSystem exports it; the SDK has no header).
extern "C" int csops(pid_t pid, unsigned int ops, void* useraddr, size_t usersize);

namespace taskport::backend {
namespace {

constexpr unsigned kOpsStatus = 0;               // CS_OPS_STATUS
constexpr unsigned kOpsEntitlementsBlob = 7;     // CS_OPS_ENTITLEMENTS_BLOB (XML plist)
constexpr unsigned kOpsDerEntitlements = 16;     // CS_OPS_DER_ENTITLEMENTS_BLOB
constexpr std::uint32_t kMagicXml = 0xfade7171;  // CSMAGIC_EMBEDDED_ENTITLEMENTS
constexpr std::uint32_t kMagicDer = 0xfade7172;  // CSMAGIC_EMBEDDED_DER_ENTITLEMENTS
constexpr std::size_t kMaxBlob = 1 << 20;

constexpr const char* kAllowDyldEnvironment = "com.apple.security.cs.allow-dyld-environment-variables";
constexpr const char* kDisableLibraryValidation = "com.apple.security.cs.disable-library-validation";

// The blob of `op`: a big-endian {magic, length} header and the body
// (CS_GenericBlob; `length` counts the header). csops_copy_token
// (kern_proc.c): a buffer shorter than the blob gets just the header and
// ERANGE — retry with that length; no entitlements is an all-zero header
// (or nothing written: the buffer is zeroed first).
bool read_blob(pid_t pid, unsigned op, std::uint32_t magic, std::string& body) {
  std::vector<unsigned char> buf(8 * 1024, 0);
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::fill(buf.begin(), buf.end(), 0);
    const int rc = ::csops(pid, op, buf.data(), buf.size());
    std::uint32_t header[2];
    std::memcpy(header, buf.data(), sizeof header);
    const std::uint32_t length = ntohl(header[1]);
    if (rc != 0 && errno == ERANGE && length > buf.size() && length <= kMaxBlob) {
      buf.assign(length, 0);
      continue;
    }
    if (rc != 0) return false;
    if (header[0] == 0 && header[1] == 0) {  // no entitlements at all
      body.clear();
      return true;
    }
    if (ntohl(header[0]) != magic || length < 8 || length > buf.size()) return false;
    body.assign(reinterpret_cast<const char*>(buf.data()) + 8, length - 8);
    return true;
  }
  return false;
}

// <key>NAME</key> followed (after white space) by <true/>, in an XML plist.
bool xml_true(const std::string& plist, const char* name) {
  const std::string key = std::string("<key>") + name + "</key>";
  const std::size_t at = plist.find(key);
  if (at == std::string::npos) return false;
  std::size_t v = at + key.size();
  while (v < plist.size() && std::strchr(" \t\r\n", plist[v]) != nullptr) ++v;
  return plist.compare(v, 7, "<true/>") == 0;
}

// The UTF8String NAME (tag 0x0c, short length) followed by BOOLEAN TRUE
// (01 01 ff), in a DER entitlements blob.
bool der_true(const std::string& der, const char* name) {
  const std::size_t n = std::strlen(name);
  std::string key;
  key += '\x0c';
  key += static_cast<char>(n);
  key += name;
  const std::size_t at = der.find(key);
  if (at == std::string::npos || n > 127) return false;
  return der.compare(at + key.size(), 3, std::string("\x01\x01\xff", 3)) == 0;
}

}  // namespace

CodeSigningState code_signing_of(pid_t pid) {
  CodeSigningState state;
  std::uint32_t flags = 0;
  if (::csops(pid, kOpsStatus, &flags, sizeof flags) != 0) return state;
  state.known = true;
  state.flags = flags;
  // Both blobs need CS_VALID or CS_DEBUGGED (else EINVAL, csops_internal).
  // The XML form comes from AMFI, which may have only the DER form (and
  // answer with an empty blob): then ask for that.
  std::string body;
  if (read_blob(pid, kOpsEntitlementsBlob, kMagicXml, body)) {
    state.entitlements_known = true;
    if (!body.empty()) {
      state.allow_dyld_environment = xml_true(body, kAllowDyldEnvironment);
      state.disable_library_validation = xml_true(body, kDisableLibraryValidation);
      return state;
    }
  }
  if (read_blob(pid, kOpsDerEntitlements, kMagicDer, body)) {
    state.entitlements_known = true;
    state.allow_dyld_environment = der_true(body, kAllowDyldEnvironment);
    state.disable_library_validation = der_true(body, kDisableLibraryValidation);
  }
  return state;
}

bool is_set_id(pid_t pid) {
  kinfo_proc kp{};
  size_t size = sizeof kp;
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid};
  if (::sysctl(mib, 4, &kp, &size, nullptr, 0) != 0 || size != sizeof kp) return false;
  return (kp.kp_proc.p_flag & P_SUGID) != 0;
}

}  // namespace taskport::backend
