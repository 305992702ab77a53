#include "drivers/store_home.h"

namespace ovlab::drivers {

Result<layout::ConfinedDir> OpenStoreDir(const layout::ConfinedDir& home, const std::string& rel,
                                         mode_t mode, bool create) {
  auto exists = home.Exists(rel);
  if (!exists) return std::unexpected(exists.error());
  if (!*exists && create) {
    if (auto st = home.MakeDir(rel, mode); !st) return std::unexpected(st.error());
  }
  return home.Dir(rel);
}

Result<layout::ConfinedDir> OpenStoreHome(const DriverOptions& options, const std::string& name,
                                          mode_t mode) {
  auto root = layout::ConfinedDir::Open(options.root);
  if (!root) return std::unexpected(root.error());
  return OpenStoreDir(*root, name, mode, options.create_store);
}

}  // namespace ovlab::drivers
