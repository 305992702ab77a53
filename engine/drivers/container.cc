#include "drivers/container.h"

#include <cerrno>

#include "base/scope_exit.h"
#include "layout/init_layer.h"

namespace ovlab::drivers {

std::string InitLayerId(const std::string& container_id) {
  return container_id + "-init";
}

Status CreateContainer(Driver& driver, const std::string& id, const std::string& image_top) {
  if (auto st = ValidateLayerId(id); !st) return st;
  std::string init = InitLayerId(id);
  if (auto st = ValidateLayerId(init); !st) return st;
  if (!image_top.empty() && !driver.Exists(image_top)) {
    return Fail(ENOENT, "image layer " + image_top + " does not exist: create it first");
  }
  if (driver.Exists(id) || driver.Exists(init)) {
    return Fail(EEXIST, "container " + id + " already exists (" + id + " or " + init + ")");
  }
  Rollback undo;
  if (auto st = driver.Create(init, {.parent = image_top, .rw = true}); !st) return st;
  undo.Add([&] { (void)driver.Remove(init); });
  auto view = driver.Get(init);
  if (!view) return std::unexpected(view.error());
  Status written = layout::WriteInitLayer(*view);
  if (auto st = driver.Put(init); !st) return st;
  if (!written) return written;
  if (auto st = driver.Create(id, {.parent = init, .rw = true}); !st) return st;
  undo.Dismiss();
  return {};
}

}  // namespace ovlab::drivers
