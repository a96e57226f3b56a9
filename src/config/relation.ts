// Options of the IR module (paper §3.2–3.4), validated with zod. The defaults are the paper's;
// the switches beyond it (edge weights, propagation) are documented ablations.
import { z } from 'zod';

const positiveInt = (what: string) =>
  z.number({ error: `${what}: expected a number` }).int({ error: `${what}: expected an integer` }).min(1, { error: `${what}: must be >= 1` });

export const relationOptionsSchema = z
  .strictObject(
    {
      /** Build the IR module at all (false: plain Faster R-CNN). */
      enabled: z.boolean({ error: 'relation.enabled: expected true or false' }).default(false),
      /** K, the edges kept per row of each relatedness matrix (§3.2, §3.3): 64. */
      k: positiveInt('relation.k').default(64),
      /** L, the number of GCN layers of the context reasoning module (§3.4, eq. 6): 2. */
      layers: positiveInt('relation.layers').default(2),
      /** λ of eq. 4, w_ij = exp(−λ·‖c_i − c_j‖) with centres in network-input pixels (§3.3): 5e-4. */
      lambda: z
        .number({ error: 'relation.lambda: expected a number' })
        .min(0, { error: 'relation.lambda: must be >= 0' })
        .refine(Number.isFinite, { error: 'relation.lambda: must be finite' })
        .default(5e-4),
      /** δ(i, j) = 0 when IoU(box_i, box_j) exceeds this (§3.2, eq. 1): 0.7. */
      overlapThreshold: z
        .number({ error: 'relation.overlapThreshold: expected a number' })
        .min(0, { error: 'relation.overlapThreshold: must be in [0, 1]' })
        .max(1, { error: 'relation.overlapThreshold: must be in [0, 1]' })
        .default(0.7),
      /** The semantic graph E_sem (§3.2), on or off as in the paper's Table 3. */
      semantic: z.boolean({ error: 'relation.semantic: expected true or false' }).default(true),
      /** The spatial-layout graph E_spa (§3.3), on or off as in the paper's Table 3. */
      spatial: z.boolean({ error: 'relation.spatial: expected true or false' }).default(true),
      /**
       * Edge values of the fused graph (§3.4, eq. 5): 'binary' (the paper: 1 for a selected edge) or
       * 'relatedness' (the largest of the semantic and spatial scores that selected it).
       */
      edgeWeights: z.enum(['binary', 'relatedness'], { error: "relation.edgeWeights: expected 'binary' or 'relatedness'" }).default('binary'),
      /**
       * Propagation matrix of eq. 6: 'laplacian' (the paper, D^-½ (D − E) D^-½) or 'adjacency'
       * (Kipf and Welling's renormalised D̃^-½ (E + I) D̃^-½).
       */
      propagation: z.enum(['laplacian', 'adjacency'], { error: "relation.propagation: expected 'laplacian' or 'adjacency'" }).default('laplacian'),
      /** Weight of the pairwise relatedness loss that trains Φ of eq. 1 during training: 1.0. */
      auxLossWeight: z
        .number({ error: 'relation.auxLossWeight: expected a number' })
        .min(0, { error: 'relation.auxLossWeight: must be >= 0' })
        .refine(Number.isFinite, { error: 'relation.auxLossWeight: must be finite' })
        .default(1.0),
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? `relation: unknown option(s) ${issue.keys.join(', ')}` : 'relation: expected an object') },
  );

/** IR module options as written in a config (every field optional). */
export type RelationOptionsInput = z.input<typeof relationOptionsSchema>;
/** IR module options with the defaults filled in. */
export type RelationOptions = z.output<typeof relationOptionsSchema>;
