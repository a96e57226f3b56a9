// COCO bounding-box evaluation (pycocotools-exact), results files, PR curves and synthetic cases.
export { evaluate, evaluateResults, type DetectorLike, type Dataset, type EvaluateOptions, type EvaluationResult } from './evaluate';
export { AREA_PRESETS, type AreaRange, type AreaRangePreset, type EvalOptions } from './params';
export type { CocoResult, Detections } from './detections';
export { readCocoResults } from './results_reader';
export { CocoResultsWriter, writeCocoResults, type ImageDetections, type ResultsWriterOptions } from './write_results';
export { prCurvesByCategorySvg, prCurvesBySizeSvg, writePrCurves, type PrCurveOptions } from './pr_curves';
export type { SizeSummary } from './summarize';
