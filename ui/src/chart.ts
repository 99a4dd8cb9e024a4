/**
 * Charts with uPlot (bundled from the `uplot` package): a figure with a caption, sized to its container and
 * resized with it. The canvas carries a text summary for screen readers; the figures are also in the tables.
 */
import uPlot from 'uplot';
import { h } from './dom.js';

export interface SeriesSpec {
  label: string;
  color: string;
  /** Bars instead of a line (the latency histogram). */
  bars?: boolean;
  points?: boolean;
}

export interface ChartSpec {
  id: string;
  caption: string;
  series: SeriesSpec[];
  /** x values are Unix seconds (time axis) unless `xLabels` names each x index. */
  xLabels?: string[];
  yLabel: string;
  height?: number;
  /** Time charts: the x range is the data's; when every point shares one x, this many seconds either side. */
  xPad?: number;
}

export interface Chart {
  figure: HTMLElement;
  setData(data: uPlot.AlignedData, summary: string, xLabels?: string[]): void;
  destroy(): void;
}

const barPaths = uPlot.paths.bars?.({ size: [0.7, 60] });

export function chart(spec: ChartSpec): Chart {
  const canvas = h('div', { class: 'chart', role: 'img', 'aria-label': spec.caption, id: `${spec.id}-plot` });
  const figure = h('figure', { class: 'chart-figure' }, h('figcaption', {}, spec.caption), canvas);
  let labels = spec.xLabels;
  let plot: uPlot | undefined;
  let data: uPlot.AlignedData = [[], ...spec.series.map(() => [])];

  const options = (width: number): uPlot.Options => ({
    width,
    height: spec.height ?? 220,
    scales: {
      x: {
        time: !labels,
        ...(spec.xPad !== undefined
          ? {
              // From the data itself: with a single x, uPlot has already widened min and max by then.
              range: (u: uPlot, min: number, max: number): uPlot.Range.MinMax => {
                const xs = u.data[0];
                const first = xs[0];
                const last = xs[xs.length - 1];
                if (first === undefined || last === undefined) return [min, max];
                const pad = first === last ? (spec.xPad ?? 0) : 0;
                return [first - pad, last + pad];
              },
            }
          : {}),
      },
    },
    legend: { show: true },
    axes: [
      labels
        ? { values: (_u, splits) => splits.map((i) => labels?.[i] ?? ''), stroke: '#333' }
        : { stroke: '#333' },
      { label: spec.yLabel, stroke: '#333', size: 60 },
    ],
    series: [
      {},
      ...spec.series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        ...(s.bars && barPaths ? { paths: barPaths, fill: `${s.color}cc` } : {}),
        points: { show: s.points ?? !s.bars },
      })),
    ],
  });

  const width = () => Math.max(canvas.clientWidth || figure.clientWidth || 320, 240);
  const resize = new ResizeObserver(() => plot?.setSize({ width: width(), height: spec.height ?? 220 }));
  resize.observe(figure);

  return {
    figure,
    setData(next, summary, xLabels) {
      data = next;
      canvas.setAttribute('aria-label', `${spec.caption}: ${summary}`);
      if (xLabels && xLabels.join() !== labels?.join()) {
        labels = xLabels;
        plot?.destroy();
        plot = undefined;
      }
      if (!plot) {
        canvas.replaceChildren();
        plot = new uPlot(options(width()), data, canvas);
      } else plot.setData(data);
    },
    destroy() {
      resize.disconnect();
      plot?.destroy();
    },
  };
}
