/** The few metrics a watch shows beside a run's progress: "train/loss=0.52 train/reward_mean=0.4". */
import { formatNumber } from '../commands/output';

/** Metrics worth a place on a progress line, in this order. */
const PREFERRED_METRICS = [
  'train/loss',
  'train/reward_mean',
  'train/accuracy',
  'probe/pass_at_1',
  'eval/accuracy',
  'train/tokens_per_s',
];

/**
 * Up to `max` numeric metrics, the preferred first; the others (but step and time/*) follow
 * when there is room, unless `preferredOnly` (a line shared with other text).
 */
export function metricSummary(
  metrics: Record<string, unknown> | null,
  max: number,
  { preferredOnly = false } = {},
): string {
  const m = metrics ?? {};
  const names = Object.keys(m).filter(
    (k) => k !== 'step' && !k.startsWith('time/') && typeof m[k] === 'number',
  );
  const others = preferredOnly ? [] : names.filter((k) => !PREFERRED_METRICS.includes(k));
  return [...PREFERRED_METRICS.filter((k) => names.includes(k)), ...others]
    .slice(0, max)
    .map((k) => `${k}=${formatNumber(m[k])}`)
    .join(' ');
}
