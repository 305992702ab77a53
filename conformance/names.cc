#include "conformance/names.h"

namespace ovlab::conformance {

void PrintTo(const NameKind& n, std::ostream* os) {
  *os << n.id << " (" << n.path << ")";
}

const std::vector<NameKind>& AllNameKinds() {
  static const std::vector<NameKind> kinds = {
      {"lower_file", "/f", Shape::kFile, false, "/f", false},
      {"top_lower_file", "/top", Shape::kFile, false, "/top", false},
      {"upper_file", "/u", Shape::kFile, false, "/u", true},
      {"upper_over_lower", "/cu", Shape::kFile, false, "/cu", true},
      {"hardlinked_lower", "/h1", Shape::kFile, false, "/h1", false},
      {"file_over_lower_dir", "/shadow", Shape::kFile, false, "/shadow", false},
      {"missing", "/nope", Shape::kMissing, false, "/nope", false},
      {"missing_parent", "/nodir/x", Shape::kMissingParent, false, "/nodir/x", false},
      {"whiteout", "/wh", Shape::kMissing, false, "/wh", false},
      {"opaque_hidden", "/opq/old", Shape::kMissing, false, "/opq/old", false},
      {"xattr_whiteout", "/alt/gone", Shape::kMissing, false, "/alt/gone", false},
      {"symlink", "/s", Shape::kFile, true, "/f", false},
      {"chained_symlink", "/s2", Shape::kFile, true, "/f", false},
      {"dangling_symlink", "/dangle", Shape::kDangling, true, "/missing", false},
      {"symlink_to_dir", "/sd", Shape::kDir, true, "/d", false},
      {"lower_dir", "/d", Shape::kDir, false, "/d", false},
      {"merged_dir", "/m", Shape::kDir, false, "/m", false},
      {"upper_merged_dir", "/mu", Shape::kDir, false, "/mu", true},
      {"upper_dir", "/ud", Shape::kDir, false, "/ud", true},
      {"file_slash", "/f/", Shape::kFileSlash, false, "/f", false},
      {"dir_slash", "/d/", Shape::kDir, false, "/d", false},
      {"missing_slash", "/nope/", Shape::kMissingSlash, false, "/nope", false},
  };
  return kinds;
}

}  // namespace ovlab::conformance
