// A time-series chart of one metric (uPlot on a canvas, loaded only by pages that draw charts).
// Raw history draws the values; hourly roll-ups draw the average with the min–max band. The
// figure's caption and label say the latest value and range in words, for screen readers and for
// a quick read.
import { useEffect, useRef } from 'preact/hooks';
import type uPlotType from 'uplot';
import { metricValue } from '../format';

export interface SeriesData {
  from: number; // the requested range, unix seconds: the x axis spans it even when data is sparse
  to: number;
  x: number[]; // unix seconds
  y: (number | null)[];
  min?: (number | null)[];
  max?: (number | null)[];
}

let uplotModule: Promise<typeof uPlotType> | undefined;
function loadUPlot() {
  uplotModule ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
  return uplotModule;
}

export function Chart({ title, unit, data, warn, crit }: { title: string; unit?: string; data: SeriesData; warn?: number; crit?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let plot: uPlotType | undefined;
    let observer: ResizeObserver | undefined;
    let cancelled = false;
    loadUPlot().then((UPlot) => {
      if (cancelled || !box.current) return;
      const el = box.current;
      const fmt = (v: number | null) => (v === null || v === undefined ? '—' : metricValue(v, unit));
      const series: uPlotType.Series[] = [{}];
      const columns: uPlotType.AlignedData[number][] = [data.x];
      if (data.min && data.max) {
        series.push({ label: 'min', stroke: '#8fb3d9', width: 1, value: (_u, v) => fmt(v) });
        series.push({ label: 'max', stroke: '#8fb3d9', width: 1, value: (_u, v) => fmt(v) });
        columns.push(data.min, data.max);
      }
      series.push({ label: data.min ? 'average' : 'value', stroke: '#1f5fa8', width: 2, value: (_u, v) => fmt(v) });
      columns.push(data.y);
      const bands = data.min && data.max ? [{ series: [2, 1] as [number, number], fill: 'rgba(31,95,168,0.12)' }] : [];
      const opts: uPlotType.Options = {
        width: Math.max(280, el.clientWidth),
        height: 180,
        series,
        bands,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, range: () => [data.from, data.to] },
          // Percentages on their whole scale; other units fit their data.
          ...(unit === '%' ? { y: { range: () => [0, 100] as [number, number] } } : {}),
        },
        axes: [
          { stroke: '#4a5560', grid: { stroke: '#e4e8ec' } },
          { stroke: '#4a5560', grid: { stroke: '#e4e8ec' }, size: 70, values: (_u, vals) => vals.map((v) => fmt(v)) },
        ],
        hooks: {
          draw: [
            (u) => {
              // Threshold lines, dashed: warning amber, critical red.
              const ctx = u.ctx;
              for (const [v, color] of [
                [warn, '#b7791f'],
                [crit, '#c53030'],
              ] as [number | undefined, string][]) {
                if (v === undefined) continue;
                const yPos = u.valToPos(v, 'y', true);
                if (yPos < u.bbox.top || yPos > u.bbox.top + u.bbox.height) continue;
                ctx.save();
                ctx.strokeStyle = color;
                ctx.setLineDash([6, 4]);
                ctx.beginPath();
                ctx.moveTo(u.bbox.left, yPos);
                ctx.lineTo(u.bbox.left + u.bbox.width, yPos);
                ctx.stroke();
                ctx.restore();
              }
            },
          ],
        },
      };
      plot = new UPlot(opts, columns as uPlotType.AlignedData, el);
      observer = new ResizeObserver(() => plot?.setSize({ width: Math.max(280, el.clientWidth), height: 180 }));
      observer.observe(el);
    });
    return () => {
      cancelled = true;
      observer?.disconnect();
      plot?.destroy();
    };
  }, [data, unit, warn, crit]);

  const values = data.y.filter((v): v is number => v !== null);
  const summary =
    values.length === 0
      ? 'no data in this range'
      : `latest ${metricValue(values[values.length - 1], unit)}, lowest ${metricValue(Math.min(...values), unit)}, highest ${metricValue(Math.max(...values), unit)}, ${values.length} ${values.length === 1 ? 'point' : 'points'}`;
  return (
    <figure class="chart">
      <figcaption>
        <strong>{title}</strong> <span class="muted">{summary}</span>
      </figcaption>
      <div ref={box} class="chart-box" role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  );
}
