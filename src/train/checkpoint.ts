// Checkpoints: one .safetensors file per save holding the trainer's tensors (model, momentum
// buffers, RNG) with the iteration, the resolved config and the data sampler's state as JSON
// metadata. Written atomically (temporary file, fsync, rename), so a crash mid-write leaves the
// previous checkpoint intact; the last few are kept.
import { promises as fsp } from 'fs';
import * as path from 'path';
import { readSafetensors, writeSafetensors } from '../weights/safetensors';
import type { TrainerState } from './native_trainer';
import type { Tensor } from '../types';

export interface Checkpoint {
  state: TrainerState;
  /** The resolved config the run was started with. */
  config: unknown;
  /** The batch source's position (JSON). */
  sampler: unknown;
}

const PATTERN = /^checkpoint_(\d{8})\.safetensors$/;

export function checkpointPath(dir: string, iteration: number): string {
  return path.join(dir, `checkpoint_${String(iteration).padStart(8, '0')}.safetensors`);
}

/** Checkpoint files in `dir`, newest first. */
export async function listCheckpoints(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((name) => PATTERN.test(name))
    .sort()
    .reverse()
    .map((name) => path.join(dir, name));
}

/** Writes the checkpoint of `checkpoint.state.iteration` and deletes all but the newest `keep`. */
export async function saveCheckpoint(dir: string, checkpoint: Checkpoint, keep: number): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  const file = checkpointPath(dir, checkpoint.state.iteration);
  const tensors = new Map<string, Tensor>(Object.entries(checkpoint.state.tensors));
  await writeSafetensors(file, tensors, {
    format: 'ir-rcnn-checkpoint',
    iteration: String(checkpoint.state.iteration),
    config: JSON.stringify(checkpoint.config),
    sampler: JSON.stringify(checkpoint.sampler),
  });
  for (const old of (await listCheckpoints(dir)).slice(keep)) await fsp.rm(old, { force: true });
  // Temporary files of writes a crash interrupted (never renamed into place).
  for (const name of await fsp.readdir(dir)) {
    if (name.startsWith('.checkpoint_') && name.endsWith('.tmp') && !name.includes(`.${process.pid}.`)) await fsp.rm(path.join(dir, name), { force: true });
  }
  return file;
}

export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  const { tensors, metadata } = await readSafetensors(file);
  if (metadata.format !== 'ir-rcnn-checkpoint') throw new Error(`${file}: not an ir-rcnn training checkpoint`);
  const iteration = Number(metadata.iteration);
  if (!Number.isSafeInteger(iteration) || iteration < 0) throw new Error(`${file}: bad iteration '${metadata.iteration}' in the checkpoint`);
  const json = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key] ?? 'null');
    } catch {
      throw new Error(`${file}: the checkpoint's ${key} is not valid JSON`);
    }
  };
  return { state: { iteration, tensors: Object.fromEntries(tensors) }, config: json('config'), sampler: json('sampler') };
}

/** The newest checkpoint in `dir`, or undefined when there is none. */
export async function latestCheckpoint(dir: string): Promise<Checkpoint & { file: string } | undefined> {
  const [newest] = await listCheckpoints(dir);
  return newest === undefined ? undefined : { ...(await loadCheckpoint(newest)), file: newest };
}

/** The model's tensors of a trainer state under their own names (torchvision's), for Detector.load. */
export function modelTensors(state: TrainerState): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [key, value] of Object.entries(state.tensors)) if (key.startsWith('model.')) out.set(key.slice('model.'.length), value);
  return out;
}
