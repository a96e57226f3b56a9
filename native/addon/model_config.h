// The model config as it crosses from TypeScript: every field of src/config/schema.ts's model
// section except categoryIds (src/config/native.ts strips it), all required, no others allowed.
#pragma once

#include "addon/args.h"
#include "addon/binding.h"
#include "model/config.h"

namespace ir_rcnn::addon {

// { numClasses, depth, ..., rpn: {...}, roi: {...}, relation: { enabled, k, ... } }
model::ModelConfig readModelConfig(const Value& value);
// The relation module's reasoning options (relation without `enabled`) into `options`.
void readRelationOptions(Object& o, model::RelationOptions& options);

}  // namespace ir_rcnn::addon
