import { useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import ColumnLayout from '@cloudscape-design/components/column-layout';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import LineChart from '@cloudscape-design/components/line-chart';
import { API, apiJson } from '../app/api.js';

type Series = Record<string, { timestampMs: number; value: number }[]>;

/** One line chart per metric the job's log produced; refetched when `version` changes. */
export default function MetricCharts({ jobName, version }: { jobName: string; version: string }) {
  const [series, setSeries] = useState<Series>({});
  const [error, setError] = useState<string>();
  useEffect(() => {
    apiJson<{ series: Series }>(`${API}/training-jobs/${encodeURIComponent(jobName)}/metrics`)
      .then((r) => {
        setSeries(r.series);
        setError(undefined);
      })
      .catch((e: Error) => setError(e.message));
  }, [jobName, version]);
  const names = Object.keys(series).filter((n) => series[n]!.length > 0);
  return (
    <Container
      header={
        <Header variant="h2" description="Values parsed from the log by the metric definitions.">
          Metrics
        </Header>
      }
    >
      {error ? (
        <Box color="text-status-error">{error}</Box>
      ) : names.length === 0 ? (
        <Box color="text-body-secondary">No metric values yet.</Box>
      ) : (
        <ColumnLayout columns={2}>
          {names.map((n) => {
            const points = series[n]!;
            const t0 = points[0]!.timestampMs;
            // Values logged within a couple of seconds are plotted by order, not by time.
            const byTime = points.at(-1)!.timestampMs - t0 >= 2000;
            const data = points.map((p, i) => ({
              x: byTime ? Math.round((p.timestampMs - t0) / 1000) : i + 1,
              y: p.value,
            }));
            const ys = data.map((d) => d.y);
            const lo = Math.min(...ys);
            const hi = Math.max(...ys);
            return (
              <LineChart
                key={n}
                series={[{ title: n, type: 'line', data }]}
                xDomain={[byTime ? 0 : 1, Math.max(2, data.at(-1)!.x)]}
                yDomain={
                  lo === hi
                    ? [lo - (Math.abs(lo) * 0.1 || 1), hi + (Math.abs(hi) * 0.1 || 1)]
                    : [lo, hi]
                }
                xTitle={byTime ? 'Seconds since first value' : 'Value number'}
                yTitle={n}
                ariaLabel={`${n} over time`}
                height={200}
                hideFilter
                xScaleType="linear"
                i18nStrings={{
                  xTickFormatter: (x) => (!Number.isInteger(x) ? '' : byTime ? `${x}s` : String(x)),
                }}
                empty={<Box>No data</Box>}
              />
            );
          })}
        </ColumnLayout>
      )}
    </Container>
  );
}
