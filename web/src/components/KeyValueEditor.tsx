import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import Input from '@cloudscape-design/components/input';

/** One key/value row of a form (hyperparameters, environment variables). */
export interface KeyValueRow {
  readonly key: string;
  readonly value: string;
}

/**
 * Editable key/value rows: hyperparameters of the training and tuning forms, a model's environment.
 * Inputs are labelled "<noun> <n> name" and "<noun> <key, or n> value" for screen readers (and tests).
 */
export default function KeyValueEditor(props: {
  rows: readonly KeyValueRow[];
  onChange: (rows: KeyValueRow[]) => void;
  /** "Hyperparameter", "Static hyperparameter", "Variable". */
  noun: string;
  addButtonText: string;
  empty: string;
  /** The problem of row i, already filtered by whether the form was tried. */
  problem?: (i: number) => string | undefined;
  /** A hint under a row's value (what the key means). */
  hint?: (row: KeyValueRow) => string | undefined;
}) {
  const { rows, onChange } = props;
  const set = (i: number, patch: Partial<KeyValueRow>) =>
    onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <AttributeEditor
      items={rows}
      addButtonText={props.addButtonText}
      removeButtonText="Remove"
      empty={props.empty}
      onAddButtonClick={() => onChange([...rows, { key: '', value: '' }])}
      onRemoveButtonClick={(e) => onChange(rows.filter((_, i) => i !== e.detail.itemIndex))}
      definition={[
        {
          label: 'Key',
          control: (r, i) => (
            <Input
              value={r.key}
              ariaLabel={`${props.noun} ${i + 1} name`}
              onChange={(e) => set(i, { key: e.detail.value })}
            />
          ),
        },
        {
          label: 'Value',
          control: (r, i) => (
            <Input
              value={r.value}
              ariaLabel={`${props.noun} ${r.key || i + 1} value`}
              onChange={(e) => set(i, { value: e.detail.value })}
            />
          ),
          errorText: (_r, i) => props.problem?.(i),
          constraintText: (r) => props.hint?.(r),
        },
      ]}
    />
  );
}
