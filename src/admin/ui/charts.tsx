/**
 * Small charts without script or library. The bars are inline SVG stretched to the width they get
 * (presentation attributes only: the page CSP allows no style attribute); every label (axis ticks, units,
 * legend) is HTML around the SVG, so text keeps its size on a phone and is never clipped at an edge.
 * The figures are also in the tables next to the charts.
 */
import { niceCeiling } from "./overview/format.ts";

/** The plot's own coordinate system; the SVG is stretched to its box (`preserveAspectRatio="none"`). */
const PLOT_WIDTH = 600;
const PLOT_HEIGHT = 120;
/** Gap between two buckets' groups, in plot units. */
const SLOT_GAP = 2;

export interface Series {
  label: string;
  color: string;
  values: number[];
}

const Swatch = ({ color }: { color: string }) => (
  <svg width="10" height="10" viewBox="0 0 10 10" aria-hidden="true">
    <rect width="10" height="10" fill={color} />
  </svg>
);

/**
 * Grouped bars over time buckets. `xTicks`: labels for the window's start, middle and end; `yUnit`: what
 * one unit on the y axis is (shown with the legend); the y axis runs from 0 to a round top.
 */
export function BarsChart(props: {
  id?: string;
  series: Series[];
  xTicks: [string, string, string];
  yUnit: string;
  note?: string;
}) {
  const { series } = props;
  const top = niceCeiling(Math.max(0, ...series.flatMap((s) => s.values)));
  const slots = Math.max(1, ...series.map((s) => s.values.length));
  const slot = PLOT_WIDTH / slots;
  const bar = Math.max(0.5, (slot - SLOT_GAP) / Math.max(1, series.length));
  return (
    <figure class="chart" id={props.id}>
      <div class="chart-grid">
        <div class="chart-y" aria-hidden="true">
          <span>{top}</span>
          <span>{top / 2}</span>
          <span>0</span>
        </div>
        <svg
          class="chart-plot"
          viewBox={`0 0 ${PLOT_WIDTH} ${PLOT_HEIGHT}`}
          preserveAspectRatio="none"
          role="img"
          aria-label={`${series.map((s) => s.label).join(", ")}: ${props.yUnit}`}
        >
          <line
            x1={0}
            y1={PLOT_HEIGHT / 2}
            x2={PLOT_WIDTH}
            y2={PLOT_HEIGHT / 2}
            stroke="#e3e6ec"
            vector-effect="non-scaling-stroke"
          />
          {series.map((s, si) =>
            s.values.map((value, i) => {
              const h = (PLOT_HEIGHT * value) / top;
              return (
                <rect x={i * slot + si * bar} y={PLOT_HEIGHT - h} width={bar} height={h} fill={s.color}>
                  <title>{`${s.label}: ${value}`}</title>
                </rect>
              );
            }),
          )}
        </svg>
        <span />
        <div class="chart-x">
          {props.xTicks.map((tick) => (
            <span>{tick}</span>
          ))}
        </div>
      </div>
      <figcaption class="chart-caption">
        {series.map((s) => (
          <span>
            <Swatch color={s.color} /> {s.label}
          </span>
        ))}
        <span>{props.yUnit}</span>
        {props.note && <span>{props.note}</span>}
      </figcaption>
    </figure>
  );
}

/** One horizontal bar pair on a shared scale: `inner` (dark) over `outer` (light), both 0…`max`. */
export function PairBar({
  inner,
  outer,
  max,
  label,
}: {
  inner: number;
  outer: number;
  max: number;
  label: string;
}) {
  const width = (value: number) => (max > 0 ? Math.min(100, Math.max(0, (100 * value) / max)) : 0);
  return (
    <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label={label}>
      <rect x={0} y={0} width={100} height={10} fill="#f0f2f6" />
      <rect x={0} y={0} width={width(outer)} height={10} fill="#c9d5f5" />
      <rect x={0} y={0} width={width(inner)} height={10} fill="#2856c7" />
    </svg>
  );
}
