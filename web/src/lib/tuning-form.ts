/** Hyperparameter ranges of the tuning form (pure; unit-tested). */
export type RangeType = 'Continuous' | 'Integer' | 'Categorical';
export type Scaling = 'Auto' | 'Linear' | 'Logarithmic' | 'ReverseLogarithmic';

export interface RangeRow {
  name: string;
  type: RangeType;
  min: string;
  max: string;
  scaling: Scaling;
  /** Categorical: comma-separated. */
  values: string;
}

/** The tutorial's recommended ranges for the built-in detector (spec §4.4). */
export function recommendedRanges(): RangeRow[] {
  return [
    {
      name: 'learning_rate',
      type: 'Continuous',
      min: '0.0001',
      max: '0.1',
      scaling: 'Logarithmic',
      values: '',
    },
    { name: 'mini_batch_size', type: 'Integer', min: '8', max: '32', scaling: 'Auto', values: '' },
    {
      name: 'optimizer',
      type: 'Categorical',
      min: '',
      max: '',
      scaling: 'Auto',
      values: 'sgd, adam',
    },
  ];
}

const num = (s: string) =>
  /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s.trim()) ? Number(s) : NaN;

/** Problems of each range row keyed by index, as CreateHyperParameterTuningJob would reject them. */
export function rangeProblems(
  rows: readonly RangeRow[],
  staticNames: readonly string[] = [],
): Map<number, string> {
  const out = new Map<number, string>();
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const name = r.name.trim();
    if (!name) return void out.set(i, 'Enter the hyperparameter name.');
    if (seen.has(name)) return void out.set(i, `${name} has two ranges.`);
    seen.add(name);
    if (staticNames.includes(name))
      return void out.set(i, `${name} is also a static hyperparameter; keep it in one place.`);
    if (r.type === 'Categorical') {
      const values = r.values
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);
      if (values.length === 0)
        return void out.set(i, 'Enter at least one value, separated by commas.');
      if (values.length > 30) return void out.set(i, 'A categorical range has at most 30 values.');
      if (new Set(values).size !== values.length)
        return void out.set(i, 'Values must be distinct.');
      return;
    }
    const lo = num(r.min);
    const hi = num(r.max);
    if (!Number.isFinite(lo) || !Number.isFinite(hi))
      return void out.set(i, 'Enter numeric minimum and maximum values.');
    if (r.type === 'Integer' && (!Number.isInteger(lo) || !Number.isInteger(hi)))
      return void out.set(i, 'Integer ranges need whole-number bounds.');
    if (lo > hi) return void out.set(i, `The minimum (${lo}) is greater than the maximum (${hi}).`);
    if (r.scaling === 'Logarithmic' && lo <= 0)
      return void out.set(i, 'Logarithmic scaling needs a minimum above 0.');
    if (r.scaling === 'ReverseLogarithmic' && (r.type !== 'Continuous' || lo < 0 || hi >= 1))
      return void out.set(i, 'Reverse logarithmic scaling needs a continuous range within [0, 1).');
  });
  return out;
}

/** The rows as SageMaker's ParameterRanges. */
export function toParameterRanges(rows: readonly RangeRow[]) {
  const ranges: {
    IntegerParameterRanges: {
      Name: string;
      MinValue: string;
      MaxValue: string;
      ScalingType: Scaling;
    }[];
    ContinuousParameterRanges: {
      Name: string;
      MinValue: string;
      MaxValue: string;
      ScalingType: Scaling;
    }[];
    CategoricalParameterRanges: { Name: string; Values: string[] }[];
  } = { IntegerParameterRanges: [], ContinuousParameterRanges: [], CategoricalParameterRanges: [] };
  for (const r of rows) {
    const name = r.name.trim();
    if (r.type === 'Categorical')
      ranges.CategoricalParameterRanges.push({
        Name: name,
        Values: r.values
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      });
    else
      (r.type === 'Integer'
        ? ranges.IntegerParameterRanges
        : ranges.ContinuousParameterRanges
      ).push({
        Name: name,
        MinValue: r.min.trim(),
        MaxValue: r.max.trim(),
        ScalingType: r.scaling,
      });
  }
  return ranges;
}
