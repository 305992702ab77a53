// Containers as Docker's layer store makes them: a read-write `<id>-init` layer on the image
// holding Docker's init layer contents, and the container's read-write layer `<id>` on top.
#pragma once

#include <string>

#include "base/result.h"
#include "drivers/driver.h"

namespace ovlab::drivers {

std::string InitLayerId(const std::string& container_id);  // "<id>-init"

// Creates both layers through any driver (the init contents are written through Get/Put, as
// Docker does). All or nothing: on error, whatever was made is removed again.
Status CreateContainer(Driver& driver, const std::string& id, const std::string& image_top);

}  // namespace ovlab::drivers
