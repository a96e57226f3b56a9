// Small reusable charts (SVG, rendered to PNG with sharp): evaluation curves, loss curves, bars.
export { lineChartSvg, type LineChartSpec, type LineSeries } from './line_chart';
export { barChartSvg, type BarChartSpec, type BarSeries } from './bar_chart';
export { svgToPng } from './png';
export { PALETTE } from './frame';
