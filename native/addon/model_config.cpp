// One table of fields per config struct serves both directions: reading a config from JS, and
// echoModelConfig writing back what was read, which a test compares with the TypeScript config.
#include "addon/model_config.h"

#include <variant>

namespace ir_rcnn::addon {
namespace {

using model::ModelConfig;
using model::RelationOptions;
using model::RoiConfig;
using model::RpnConfig;

// A field of struct S: its name in JS and its member.
template <typename S>
struct Field {
  const char* name;
  std::variant<int64_t S::*, double S::*, bool S::*, std::string S::*, std::vector<double> S::*> member;
};

const Field<ModelConfig> kModelFields[] = {
    {"numClasses", &ModelConfig::numClasses}, {"depth", &ModelConfig::depth},
    {"trainableLayers", &ModelConfig::trainableLayers}, {"minSize", &ModelConfig::minSize},
    {"maxSize", &ModelConfig::maxSize}, {"imageMean", &ModelConfig::imageMean},
    {"imageStd", &ModelConfig::imageStd}, {"anchorSizes", &ModelConfig::anchorSizes},
    {"aspectRatios", &ModelConfig::aspectRatios},
};
const Field<RpnConfig> kRpnFields[] = {
    {"preNmsTopNTrain", &RpnConfig::preNmsTopNTrain}, {"preNmsTopNTest", &RpnConfig::preNmsTopNTest},
    {"postNmsTopNTrain", &RpnConfig::postNmsTopNTrain}, {"postNmsTopNTest", &RpnConfig::postNmsTopNTest},
    {"nmsThreshold", &RpnConfig::nmsThreshold}, {"fgIouThreshold", &RpnConfig::fgIouThreshold},
    {"bgIouThreshold", &RpnConfig::bgIouThreshold}, {"batchSizePerImage", &RpnConfig::batchSizePerImage},
    {"positiveFraction", &RpnConfig::positiveFraction}, {"scoreThreshold", &RpnConfig::scoreThreshold},
};
const Field<RoiConfig> kRoiFields[] = {
    {"fgIouThreshold", &RoiConfig::fgIouThreshold}, {"bgIouThreshold", &RoiConfig::bgIouThreshold},
    {"batchSizePerImage", &RoiConfig::batchSizePerImage}, {"positiveFraction", &RoiConfig::positiveFraction},
    {"scoreThreshold", &RoiConfig::scoreThreshold}, {"nmsThreshold", &RoiConfig::nmsThreshold},
    {"maxDetections", &RoiConfig::maxDetections}, {"representationSize", &RoiConfig::representationSize},
};
// The reasoning options; `enabled` belongs to the model config only (relationForward has none),
// and `dim` is the config's roi.representationSize.
const Field<RelationOptions> kRelationFields[] = {
    {"k", &RelationOptions::k}, {"layers", &RelationOptions::layers}, {"lambda", &RelationOptions::lambda},
    {"overlapThreshold", &RelationOptions::overlapThreshold}, {"semantic", &RelationOptions::semantic},
    {"spatial", &RelationOptions::spatial}, {"edgeWeights", &RelationOptions::edgeWeights},
    {"propagation", &RelationOptions::propagation}, {"auxLossWeight", &RelationOptions::auxLossWeight},
};

template <typename... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

template <typename S, size_t N>
void readFields(Object& o, S& s, const Field<S> (&fields)[N]) {
  for (const auto& field : fields) {
    const char* key = field.name;
    std::visit(Overloaded{[&](int64_t S::*m) { s.*m = o.integer(key); },
                          [&](double S::*m) { s.*m = o.number(key).finite(); },
                          [&](bool S::*m) { s.*m = o.boolean(key); },
                          [&](std::string S::*m) { s.*m = o.get(key).string(); },
                          [&](std::vector<double> S::*m) { s.*m = o.get(key).numbers(); }},
               field.member);
  }
}

template <typename S, size_t N>
Out writeFields(Out out, const S& s, const Field<S> (&fields)[N]) {
  for (const auto& field : fields) {
    std::visit(Overloaded{[&](int64_t S::*m) { out.set(field.name, static_cast<double>(s.*m)); },
                          [&](double S::*m) { out.set(field.name, s.*m); },
                          [&](bool S::*m) { out.set(field.name, s.*m); },
                          [&](std::string S::*m) { out.set(field.name, s.*m); },
                          [&](std::vector<double> S::*m) {
                            Out list = Out::list();
                            for (double v : s.*m) list.push(v);
                            out.set(field.name, list);
                          }},
               field.member);
  }
  return out;
}

template <typename S, size_t N>
void readSection(Object& parent, const char* key, S& s, const Field<S> (&fields)[N]) {
  Object section = parent.object(key);
  readFields(section, s, fields);
  section.done();
}

// echoModelConfig(config) → the config as C++ read it, under the same names.
Napi::Value EchoModelConfig(const Napi::CallbackInfo& info) {
  const ModelConfig c = readModelConfig(Args(info, "model").at(0));
  Out relation = writeFields(Out::object().set("enabled", c.relation.enabled), c.relation, kRelationFields);
  return writeFields(Out::object(), c, kModelFields)
      .set("rpn", writeFields(Out::object(), c.rpn, kRpnFields))
      .set("roi", writeFields(Out::object(), c.roi, kRoiFields))
      .set("relation", relation)
      .toJS(info.Env());
}
IR_RCNN_BINDING("echoModelConfig", EchoModelConfig);

}  // namespace

void readRelationOptions(Object& o, RelationOptions& options) { readFields(o, options, kRelationFields); }

model::ModelConfig readModelConfig(const Value& value) {
  Object o = value.object();
  ModelConfig c;
  readFields(o, c, kModelFields);
  readSection(o, "rpn", c.rpn, kRpnFields);
  readSection(o, "roi", c.roi, kRoiFields);
  Object relation = o.object("relation");
  c.relation.enabled = relation.boolean("enabled");
  readRelationOptions(relation, c.relation);
  relation.done();
  o.done();
  return c;
}

}  // namespace ir_rcnn::addon
