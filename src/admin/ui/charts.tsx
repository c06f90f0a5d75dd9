/** Small inline SVG charts: no script, no library; the numbers are also in the tables next to them. */

const WIDTH = 520;
const HEIGHT = 140;
const PAD = 24;

export interface Series {
  label: string;
  color: string;
  values: number[];
}

/** Grouped bars over time buckets, with the max on the axis. */
export function BarsChart({ series, labels }: { series: Series[]; labels: string[] }) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const slots = Math.max(1, labels.length);
  const slot = (WIDTH - PAD * 2) / slots;
  const bar = Math.max(1, (slot - 2) / series.length);
  return (
    <svg
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width="100%"
      role="img"
      aria-label={series.map((s) => s.label).join(", ")}
    >
      <line x1={PAD} y1={HEIGHT - PAD} x2={WIDTH - PAD} y2={HEIGHT - PAD} stroke="#c3c9d5" />
      <text x={2} y={PAD}>
        {max}
      </text>
      <text x={2} y={HEIGHT - PAD}>
        0
      </text>
      {series.map((s, si) =>
        s.values.map((value, i) => {
          const h = ((HEIGHT - PAD * 2) * value) / max;
          return (
            <rect x={PAD + i * slot + si * bar} y={HEIGHT - PAD - h} width={bar} height={h} fill={s.color} />
          );
        }),
      )}
      {labels.length > 0 && (
        <text x={PAD} y={HEIGHT - 6}>
          {labels[0]}
        </text>
      )}
      {labels.length > 1 && (
        <text x={WIDTH - PAD} y={HEIGHT - 6} text-anchor="end">
          {labels[labels.length - 1]}
        </text>
      )}
      {series.map((s, si) => (
        <g>
          <rect x={WIDTH - 150} y={6 + si * 14} width={10} height={10} fill={s.color} />
          <text x={WIDTH - 135} y={15 + si * 14}>
            {s.label}
          </text>
        </g>
      ))}
    </svg>
  );
}

/** Horizontal bars: p50 and p95 per settle path. */
export function LatencyChart({ rows }: { rows: Array<{ path: string; p50: number; p95: number }> }) {
  const max = Math.max(1, ...rows.map((r) => r.p95));
  const rowHeight = 26;
  const height = Math.max(40, rows.length * rowHeight + 20);
  const scale = (value: number) => ((WIDTH - 200) * value) / max;
  return (
    <svg viewBox={`0 0 ${WIDTH} ${height}`} width="100%" role="img" aria-label="latency p50 p95">
      {rows.map((row, i) => (
        <g>
          <text x={4} y={i * rowHeight + 20}>
            {row.path}
          </text>
          <rect x={90} y={i * rowHeight + 8} width={scale(row.p95)} height={14} fill="#c9d5f5" />
          <rect x={90} y={i * rowHeight + 8} width={scale(row.p50)} height={14} fill="#2856c7" />
          <text x={96 + scale(row.p95)} y={i * rowHeight + 20}>{`p50 ${row.p50} · p95 ${row.p95}`}</text>
        </g>
      ))}
    </svg>
  );
}
