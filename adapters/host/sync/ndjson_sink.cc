// Profile ndjson: FHIR Bulk Data NDJSON files, one per resource type, appended atomically and
// made exactly-once across crashes by a small journal (see host_sink.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/host/sync/host_sink.h"
#include "nlohmann/json.hpp"
#include "plugin/common/status_macros.h"

namespace collabcare::host {
namespace {

constexpr char kJournal[] = ".collabcare-sync";

absl::Status IoError(const char* what, const std::string& file) {
  // ENOSPC, EIO…: the operator can fix the disk; the worker retries.
  return absl::UnavailableError(
      absl::StrCat("ndjson: ", what, " ", file, ": ", std::strerror(errno)));
}

bool ValidType(const std::string& type) {
  if (type.empty() || type.size() > 64) return false;
  for (char c : type) {
    if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status WriteAll(int fd, const std::string& data, const std::string& file) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", file);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return IoError("open", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return IoError("fsync", path);
  return absl::OkStatus();
}

struct Journal {
  int64_t outbox_id = 0;
  std::map<std::string, int64_t> sizes;  // file name → size before the entry's appends
};

class NdjsonSink final : public HostSink {
 public:
  explicit NdjsonSink(std::string dir) : dir_(std::move(dir)) {}

  SinkContent content() const override { return SinkContent::kFull; }

  absl::Status Push(const store::OutboxEntry& entry,
                    const std::vector<fhir::FhirResource>& resources) override {
    // Lines by file, in mapping order within each file.
    std::map<std::string, std::string> lines;
    for (const fhir::FhirResource& r : resources) {
      if (!ValidType(r.type)) return absl::InvalidArgumentError("ndjson: bad resource type");
      if (r.json.find('\n') != std::string::npos || r.json.find('\r') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("ndjson: ", r.type, " is not one line"));
      }
      absl::StrAppend(&lines[absl::StrCat(r.type, ".ndjson")], r.json, "\n");
    }
    ASSIGN_OR_RETURN(Journal journal, ReadJournal());
    if (journal.outbox_id > entry.id) return absl::OkStatus();  // written before a crash
    if (journal.outbox_id == entry.id) {
      // A retry: undo whatever part of the earlier attempt reached the files.
      for (const auto& [file, size] : journal.sizes) {
        const std::string path = Path(file);
        if (::truncate(path.c_str(), size) != 0 && errno != ENOENT) {
          return IoError("truncate", file);
        }
      }
    } else {
      journal.outbox_id = entry.id;
      journal.sizes.clear();
      for (const auto& [file, unused] : lines) {
        struct stat st;
        journal.sizes[file] = ::stat(Path(file).c_str(), &st) == 0 ? st.st_size : 0;
      }
      RETURN_IF_ERROR(WriteJournal(journal));
    }
    for (const auto& [file, text] : lines) {
      const std::string path = Path(file);
      int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return IoError("open", file);
      absl::Status written = WriteAll(fd, text, file);
      if (written.ok() && ::fdatasync(fd) != 0) written = IoError("fsync", file);
      ::close(fd);
      RETURN_IF_ERROR(written);
    }
    // New files' directory entries.
    return FsyncPath(dir_, O_RDONLY | O_DIRECTORY);
  }

 private:
  std::string Path(const std::string& file) const { return absl::StrCat(dir_, "/", file); }

  absl::StatusOr<Journal> ReadJournal() {
    Journal journal;
    const std::string path = Path(kJournal);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return journal;
      return IoError("open", kJournal);
    }
    std::string text;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j["outbox_id"].is_number_integer() || !j["sizes"].is_object()) {
      return absl::DataLossError("ndjson: the sync journal is unreadable");
    }
    journal.outbox_id = j["outbox_id"].get<int64_t>();
    for (auto it = j["sizes"].begin(); it != j["sizes"].end(); ++it) {
      if (!it.value().is_number_integer()) {
        return absl::DataLossError("ndjson: the sync journal is unreadable");
      }
      journal.sizes[it.key()] = it.value().get<int64_t>();
    }
    return journal;
  }

  // tmp + fsync + rename + fsync(dir): the journal is either the old or the new one.
  absl::Status WriteJournal(const Journal& journal) {
    nlohmann::json j = {{"outbox_id", journal.outbox_id}, {"sizes", journal.sizes}};
    const std::string tmp = Path(absl::StrCat(kJournal, ".tmp"));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("open", kJournal);
    absl::Status written = WriteAll(fd, j.dump(), kJournal);
    if (written.ok() && ::fsync(fd) != 0) written = IoError("fsync", kJournal);
    ::close(fd);
    RETURN_IF_ERROR(written);
    if (::rename(tmp.c_str(), Path(kJournal).c_str()) != 0) return IoError("rename", kJournal);
    return FsyncPath(dir_, O_RDONLY | O_DIRECTORY);
  }

  const std::string dir_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HostSink>> NewNdjsonSink(const std::string& dir) {
  if (dir.empty()) return absl::InvalidArgumentError("ndjson: empty folder");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::UnavailableError("ndjson: cannot create the folder");
  return std::make_unique<NdjsonSink>(dir);
}

}  // namespace collabcare::host
