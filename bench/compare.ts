// One comparison on the Python side: write the inputs, time the job there, clean up. A failure
// becomes a notice and the row keeps our timing alone.
import * as fs from 'fs';
import * as path from 'path';
import type { BenchContext } from './context';
import type { Plan, Stats } from './harness';
import { writeInputs } from './python';
import type { Tensor } from '../src/types';

export interface Reference {
  reference: { name: string; stats: Stats };
  answer: Record<string, unknown>;
}

export async function timeReference(
  context: BenchContext,
  caseName: string,
  referenceName: string,
  inputs: Record<string, Tensor>,
  job: { op: string } & Record<string, unknown>,
  plan: Plan,
): Promise<Reference | undefined> {
  if (!context.torchvision) return undefined;
  const dir = path.join(context.scratch, caseName.replace(/[^A-Za-z0-9]+/g, '_'));
  try {
    writeInputs(dir, inputs);
    const { stats, answer } = await context.torchvision.time(dir, job, plan);
    return { reference: { name: referenceName, stats }, answer };
  } catch (error) {
    context.notice(`${caseName}: the torchvision comparison failed (${(error as Error).message})`);
    return undefined;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
