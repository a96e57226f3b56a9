// The model config as it crosses to the addon. The schema (./schema.ts) is the one source of its
// values: the addon reads every field, requires each and rejects any other
// (native/addon/model_config.cpp). categoryIds is TypeScript's alone (it maps class indices to
// dataset ids in results), so it stays here.
import type { ModelConfig } from './schema';

export type NativeModelConfig = Omit<ModelConfig, 'categoryIds'>;

/** `model` without its TypeScript-only fields, for createDetector and trainerCreate. */
export function nativeModelConfig(model: ModelConfig): NativeModelConfig {
  const { categoryIds: _categoryIds, ...native } = model;
  return native;
}
