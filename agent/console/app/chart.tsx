/** Calls per hour by outcome, drawn by uPlot (a small, fast canvas chart library). */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface HourBucket {
  readonly at: number;
  readonly total: number;
  readonly blocked: number;
  readonly flagged: number;
  readonly legitimate: number;
  readonly other: number;
}

const SERIES = [
  ['blocked', 'Blocked', '#c62828'],
  ['flagged', 'Flagged', '#b26a00'],
  ['legitimate', 'Legitimate', '#2e7d32'],
  ['other', 'Other', '#607d8b'],
] as const;

export function HourlyChart({ buckets, label }: { buckets: readonly HourBucket[]; label: string }) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const data: uPlot.AlignedData = [buckets.map((bucket) => bucket.at), ...SERIES.map(([key]) => buckets.map((bucket) => bucket[key]))];
    const width = () => Math.max(280, element.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        ms: 1,
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
        axes: [{ stroke: '#444', grid: { stroke: '#eee' } }, { stroke: '#444', grid: { stroke: '#eee' }, size: 48, label: 'calls', labelSize: 18 }],
        series: [{ label: 'Hour' }, ...SERIES.map(([, name, colour]) => ({ label: name, stroke: colour, width: 2, fill: `${colour}14`, points: { show: buckets.length <= 48 } }))],
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [buckets]);
  const totals = SERIES.map(([key, name]) => `${name} ${buckets.reduce((sum, bucket) => sum + bucket[key], 0)}`).join(', ');
  return <div ref={holder} class="chart" role="img" aria-label={`${label}: ${totals}`} />;
}
