// report.html: the demo's whole report in one file that works offline and alone: the table with
// its intervals, the charts as inline SVG, the drawn val images as data: URIs, the style inline.
// Its Content-Security-Policy forbids every fetch but data: images, so a reference to anything
// outside the file would fail loudly in the browser rather than load silently.
import { promises as fsp } from 'fs';
import * as path from 'path';
import { escapeXml as escapeHtml } from '../plot/frame';
import { EDGE_COLORS } from '../draw';
import type { DemoResult } from './result';
import { tableCaption, tableCells, wallTime } from './table';

/** The charts as SVG documents (from src/plot); `ap` only where the runs evaluated during training. */
export interface ReportCharts {
  losses: string;
  ap?: string;
  bySize: string;
  perCategory: string;
}

const STYLE = `
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px auto; max-width: 1200px; color: #202020; line-height: 1.45; }
h1 { font-size: 24px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 7px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.note { font-size: 13px; color: #444; max-width: 1100px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
/* Two charts a row: the SVGs scale by their viewBox. */
.charts svg { box-sizing: border-box; width: calc(50% - 8px); height: auto; border: 1px solid #eee; }
figure { margin: 0 0 20px 0; } figcaption { font-size: 13px; color: #444; }
figure img { max-width: 100%; image-rendering: pixelated; }
.key { white-space: nowrap; }
.swatch { display: inline-block; width: 18px; height: 3px; vertical-align: middle; margin: 0 4px 0 12px; }
`;

function htmlTable(result: DemoResult): string {
  const { header, body } = tableCells(result.rows);
  // A difference's interval goes under it ("+4.1" over "[+2.9, +5.3]"), and the resampling unit
  // under its column's name: four such columns still fit the page.
  const cell = (text: string, c: number) => (header[c].startsWith('Δ') ? escapeHtml(text).replace(' [', '<br>[').replace(' (', '<br>(') : escapeHtml(text));
  const row = (cells: string[], tag: 'th' | 'td') => `<tr>${cells.map((text, c) => `<${tag}>${cell(text, c)}</${tag}>`).join('')}</tr>`;
  return `<table>\n<thead>${row(header, 'th')}</thead>\n<tbody>\n${body.map((cells) => row(cells, 'td')).join('\n')}\n</tbody>\n</table>`;
}

async function dataUri(file: string): Promise<string> {
  return `data:image/png;base64,${(await fsp.readFile(file)).toString('base64')}`;
}

async function valImages(result: DemoResult): Promise<string> {
  if (result.drawings.length === 0) return '<p>No val images were drawn (--draw 0).</p>';
  // White ("both") would not show on the page: grey stands for it.
  const legend = [1, 2, 3]
    .map((type) => {
      const { color, name } = EDGE_COLORS[type];
      return `<span class="key"><span class="swatch" style="background:${color === '#ffffff' ? '#999' : color}"></span>${escapeHtml(name)}</span>`;
    })
    .join('');
  const figures = await Promise.all(
    result.drawings.map(async (file) => {
      const name = path.basename(file);
      return `<figure><img src="${await dataUri(file)}" alt="val image ${escapeHtml(name)} with detections"><figcaption>${escapeHtml(name)}</figcaption></figure>`;
    }),
  );
  const models = result.rows.length > 1 ? `${result.rows[0].variant.short} (left) and ${result.rows[result.rows.length - 1].variant.short} (right, seed 0)` : '';
  return `<p class="note">${escapeHtml(models)}: boxes coloured by class, score ≥ 0.5; the relation graph between IR R-CNN's boxes:${legend}.</p>\n${figures.join('\n')}`;
}

/** The page, as text. */
export async function reportHtml(result: DemoResult, charts: ReportCharts): Promise<string> {
  const m = result.machine;
  const training = [charts.losses, charts.ap ?? ''].join('\n');
  const noAp = charts.ap ? '' : '<p class="note">No AP during training: the runs evaluated only at the end (demo --eval-every N adds the curve).</p>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>IR R-CNN demo report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>IR R-CNN demo: ablation on the synthetic small-object set</h1>
<p>${escapeHtml(tableCaption(result))}</p>
<h2>Results</h2>
${htmlTable(result)}
<p class="note">${escapeHtml(result.note)}</p>
<h2>Training</h2>
<div class="charts">
${training}
</div>
${noAp}
<h2>AP by object size and per category</h2>
<div class="charts">
${charts.bySize}
${charts.perCategory}
</div>
<h2>Val images</h2>
${await valImages(result)}
<h2>Machine</h2>
<p class="note">${escapeHtml(`${wallTime(result)} CPU: ${m.cpuModel}; LibTorch ${m.torch}.`)}</p>
</body>
</html>
`;
}
