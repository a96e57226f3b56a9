// The demo's `--relation` settings (src/demo/preset.ts): each becomes one more IR R-CNN row whose
// config differs from the preset's only in the options named; mistakes name the option.
import { strict as assert } from 'assert';
import { resolveConfig } from '../../src/config';
import { BASELINE, IR_RCNN, demoVariants, parseRelationSettings, variantConfig } from '../../src/demo/preset';

const schedule = { iterations: 10, seed: 0, imageSize: 96 };

describe('demo --relation', () => {
  it('parses settings separated by ; into typed option changes', () => {
    assert.deepEqual(parseRelationSettings('propagation=adjacency; k=64,auxLossWeight=0;edgeWeights=relatedness'), [
      { propagation: 'adjacency' },
      { k: 64, auxLossWeight: 0 },
      { edgeWeights: 'relatedness' },
    ]);
  });

  it('adds one IR R-CNN row per setting after the Table 3 rows, each config changed only there', () => {
    const variants = demoVariants(false, parseRelationSettings('propagation=adjacency;k=64,auxLossWeight=0'));
    assert.deepEqual(variants.slice(0, 2), [BASELINE, IR_RCNN]);
    assert.deepEqual(variants.slice(2).map((v) => [v.key, v.label]), [
      ['ir_rcnn-propagation=adjacency', 'IR R-CNN, propagation=adjacency'],
      ['ir_rcnn-k=64_auxLossWeight=0', 'IR R-CNN, k=64, auxLossWeight=0'],
    ]);
    const preset = variantConfig(IR_RCNN, schedule);
    const changed = variantConfig(variants[3], schedule);
    assert.deepEqual({ ...changed, name: preset.name }, { ...preset, model: { ...preset.model, relation: { ...preset.model.relation, k: 64, auxLossWeight: 0 } } });
    assert.equal(changed.model.relation.enabled, true);
    // The preset's own row is what resolveConfig makes of the preset with the demo's overrides.
    assert.equal(preset.model.relation.k, resolveConfig('ir_rcnn_r18_fpn_small').model.relation.k);
  });

  it('refuses unknown options, bad values, the graph switches and malformed pairs, naming them', () => {
    assert.throws(() => parseRelationSettings('kay=3'), /--relation: relation: unknown option\(s\) kay/);
    assert.throws(() => parseRelationSettings('propagation=diffusion'), /--relation: relation.propagation: expected 'laplacian' or 'adjacency'/);
    assert.throws(() => parseRelationSettings('k=0'), /--relation: relation.k: must be >= 1/);
    assert.throws(() => parseRelationSettings('semantic=false'), /semantic is fixed by the table's rows/);
    assert.throws(() => parseRelationSettings('k=4,k=8'), /k given twice/);
    assert.throws(() => parseRelationSettings('k'), /expected key=value, got 'k'/);
    assert.throws(() => parseRelationSettings('k=1;'), /expected key=value, got ''/);
  });
});
