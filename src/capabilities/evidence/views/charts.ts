/** Native charts of the evidence (Block Kit `data_visualization`); their text versions are the callers'. */
import type { Block } from '../../../platform/slack/blocks';
import { CHART_LIMITS } from '../../../platform/slack/native';
import type { DailyUsage } from '../stores/usageRead';

/** "11-03", or "11-03–11-04" for days grouped into one point. */
function groupLabel(days: readonly DailyUsage[]): string {
  const first = days[0]!.day.slice(5);
  const last = days[days.length - 1]!.day.slice(5);
  return first === last ? first : `${first}–${last}`;
}

/**
 * Calls per day as a bar chart of two series, successful and failed, oldest first. More days
 * than a series may hold are grouped into equal runs of consecutive days (30 days: 15 points of
 * 2 days), summed, so every call is still counted once.
 */
export function callsChart(title: string, daily: readonly DailyUsage[]): Block | undefined {
  if (daily.length === 0) return undefined;
  const per = Math.ceil(daily.length / CHART_LIMITS.points);
  const groups: DailyUsage[][] = [];
  for (let i = 0; i < daily.length; i += per) groups.push(daily.slice(i, i + per));
  const categories = groups.map(groupLabel);
  const sum = (g: DailyUsage[], f: (d: DailyUsage) => number) => g.reduce((n, d) => n + (Number.isFinite(f(d)) ? f(d) : 0), 0);
  const series = (name: string, f: (d: DailyUsage) => number) => ({
    name,
    data: groups.map((g, i) => ({ label: categories[i]!, value: sum(g, f) })),
  });
  return {
    type: 'data_visualization',
    title: title.slice(0, CHART_LIMITS.title),
    chart: {
      type: 'bar',
      series: [series('Successful', (d) => Math.max(0, d.total - d.failed)), series('Failed', (d) => d.failed)],
      axis_config: { categories, x_label: per > 1 ? `UTC days, ${per} per bar` : 'UTC day', y_label: 'Calls' },
    },
  } as unknown as Block;
}
