#include "targets/target_json.h"

namespace ovlab::targets {

nlohmann::json TargetJson(const TargetSpec& t) {
  nlohmann::json j = {
      {"name", t.name},
      {"summary", t.summary},
      {"bringup", BringupName(t.bringup)},
      {"driver", t.driver},
      {"daemon", t.daemon ? nlohmann::json(t.daemon->program.name) : nlohmann::json()},
      {"role", RoleName(t.role)},
      {"conformance_name", t.conformance_name},
      {"only_backing",
       t.only_backing ? nlohmann::json(scratch::BackingName(*t.only_backing)) : nlohmann::json()},
      {"inode_model", InodeModelName(t.inode_model)},
      {"copies_up", t.copies_up},
      {"durable_copy_up", t.durable_copy_up},
      {"truncate_copies_data", t.truncate_copies_data},
      {"clones_on_reflink", t.clones_on_reflink},
      {"flat", t.flat},
      {"deep_lowers", t.deep_lowers},
      {"copy_strategies", t.copy_strategies},
      {"direct_reads", t.direct_reads},
      {"in_userspace", InUserspace(t)},
  };
  return j;
}

}  // namespace ovlab::targets
