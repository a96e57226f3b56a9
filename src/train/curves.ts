// Loss (and AP) curves of a run as PNG, from its metrics.jsonl.
import { promises as fsp } from 'fs';
import * as path from 'path';
import { lineChartSvg, svgToPng, type LineSeries } from '../plot';

export interface MetricsRecord {
  iteration: number;
  losses?: Record<string, number>;
  lr?: number;
  /** COCO AP (0..1) when the run evaluated at this iteration. */
  ap?: number;
  ap50?: number;
}

export async function readMetrics(file: string): Promise<MetricsRecord[]> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: MetricsRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as MetricsRecord);
    } catch {
      throw new Error(`${file}:${i + 1}: not a JSON line`);
    }
  });
  return records;
}

/** Writes loss_curves.png (and ap_curve.png when there are AP points) to `dir`; returns the files. */
export async function writeCurves(dir: string, records: MetricsRecord[]): Promise<string[]> {
  const written: string[] = [];
  const withLosses = records.filter((r) => r.losses !== undefined);
  if (withLosses.length > 0) {
    const names = Object.keys(withLosses[withLosses.length - 1].losses ?? {});
    const series: LineSeries[] = names.map((name) => ({
      name,
      x: withLosses.map((r) => r.iteration),
      y: withLosses.map((r) => r.losses?.[name] ?? NaN),
    }));
    const file = path.join(dir, 'loss_curves.png');
    await svgToPng(lineChartSvg({ series, title: 'Training losses', xLabel: 'iteration', yLabel: 'loss' }), file);
    written.push(file);
  }
  const withAp = records.filter((r) => r.ap !== undefined);
  if (withAp.length > 0) {
    const x = withAp.map((r) => r.iteration);
    const series: LineSeries[] = [{ name: 'AP', x, y: withAp.map((r) => r.ap ?? NaN) }];
    if (withAp.some((r) => r.ap50 !== undefined)) series.push({ name: 'AP50', x, y: withAp.map((r) => r.ap50 ?? NaN) });
    const file = path.join(dir, 'ap_curve.png');
    await svgToPng(lineChartSvg({ series, title: 'Validation AP', xLabel: 'iteration', yLabel: 'AP' }), file);
    written.push(file);
  }
  return written;
}
