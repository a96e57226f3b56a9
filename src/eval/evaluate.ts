// The evaluation entry points: evaluateResults (ground truth + results → pycocotools' numbers and
// more) and evaluate (run a detector over a COCO-format dataset, then evaluate).
import * as path from 'path';
import { loadCocoAnnotations, type CocoAnnotations } from '../data/coco';
import { evaluateDetections, type EvalArrays } from './cocoeval';
import { DetectionsBuilder, type CocoResult, type Detections } from './detections';
import { resolveParams, type EvalOptions } from './params';
import { readCocoResults } from './results_reader';
import { formatSummary, perCategoryAp, perSize, stats, type SizeSummary } from './summarize';
import type { Detection } from '../types';
import { CocoResultsWriter } from './write_results';

export interface EvaluationResult extends EvalArrays {
  /** The 12 numbers of pycocotools' summarize(), in its order (AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl). */
  stats: number[];
  /** AP at IoU .50:.95, area 'all', largest maxDets, per category id; -1 where the category has no ground truth. */
  perCategory: Map<number, number>;
  /** AP, AP50, AP75 and AR per area range name (e.g. 'small', or 'tiny' with the 'fine' preset). */
  perSize: Record<string, SizeSummary>;
  /** The table pycocotools prints, plus lines for area ranges beyond COCO's. */
  summary: string;
}

/**
 * Evaluates COCO results against COCO ground truth with the semantics of pycocotools' COCOeval
 * (iouType 'bbox'). `gt` is a loaded CocoAnnotations or a path to an annotations file; `results`
 * a path to a results file, a list of result records, or already loaded Detections.
 */
export async function evaluateResults(
  gt: CocoAnnotations | string,
  results: string | ArrayLike<CocoResult> | Detections,
  options?: EvalOptions,
): Promise<EvaluationResult> {
  const params = resolveParams(options);
  const annotations = typeof gt === 'string' ? await loadCocoAnnotations(gt) : gt;
  let dets: Detections;
  if (typeof results === 'string') {
    dets = await readCocoResults(results, annotations);
  } else if (isDetections(results)) {
    dets = results;
  } else {
    const builder = new DetectionsBuilder(annotations, 'results');
    for (let i = 0; i < results.length; i++) builder.addRecord(i, results[i]);
    dets = builder.finish();
  }
  return summarizeEvaluation(evaluateDetections(annotations, dets, params));
}

export function summarizeEvaluation(arrays: EvalArrays): EvaluationResult {
  return {
    ...arrays,
    stats: stats(arrays),
    perCategory: perCategoryAp(arrays),
    perSize: perSize(arrays),
    summary: formatSummary(arrays),
  };
}

/**
 * What `evaluate` needs of a detector (the library's Detector has it). Each detection's categoryId
 * must be a category id of the annotations (a Detector maps its class indices through
 * config.model.categoryIds, which training fills in from the training set's categories).
 */
export interface DetectorLike {
  detect(images: string[], options?: object): Promise<{ detections: Pick<Detection, 'bbox' | 'score' | 'categoryId'>[] }[]>;
}

export interface Dataset {
  /** COCO annotations file. */
  annotations: string;
  /** Folder the images' file_name entries are relative to. */
  images: string;
}

export interface EvaluateOptions extends EvalOptions {
  /** Images per detect() call (default 8). */
  batchSize?: number;
  /** Passed to detector.detect as its options (e.g. { scoreThreshold: 0.05 }). */
  detectOptions?: object;
  /** Also write the detections as a COCO results file here. */
  resultsFile?: string;
  /** Called after every batch. */
  onProgress?: (done: number, total: number) => void;
}

/** Runs `detector` over every image of `dataset` in batches and evaluates its detections. */
export async function evaluate(detector: DetectorLike, dataset: Dataset, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const params = resolveParams(options);
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`evaluate: batchSize must be a positive integer, got ${batchSize}`);
  const gt = await loadCocoAnnotations(dataset.annotations);
  const builder = new DetectionsBuilder(gt, 'detector output');
  const writer = options.resultsFile ? new CocoResultsWriter(options.resultsFile) : undefined;
  const total = gt.images.ids.length;
  let record = 0;
  try {
    for (let start = 0; start < total; start += batchSize) {
      const batch = Array.from({ length: Math.min(batchSize, total - start) }, (_, i) => start + i);
      const files = batch.map((i) => path.join(dataset.images, gt.images.fileNames[i]));
      const perImage = await detector.detect(files, options.detectOptions);
      if (!Array.isArray(perImage) || perImage.length !== batch.length) {
        throw new Error(`evaluate: detector.detect returned ${Array.isArray(perImage) ? perImage.length : 'no'} lists for ${batch.length} images`);
      }
      for (let b = 0; b < batch.length; b++) {
        const imageId = gt.images.ids[batch[b]];
        for (const d of perImage[b].detections) {
          const box = d.bbox;
          builder.add(record++, [imageId, d.categoryId, d.score, box[0], box[1], box[2], box[3]]);
        }
        await writer?.write({ imageId, detections: perImage[b].detections });
      }
      options.onProgress?.(start + batch.length, total);
    }
  } catch (error) {
    await writer?.abort();
    throw error;
  }
  await writer?.close();
  return summarizeEvaluation(evaluateDetections(gt, builder.finish(), params));
}

function isDetections(value: unknown): value is Detections {
  return typeof value === 'object' && value !== null && (value as Detections).score instanceof Float64Array;
}
