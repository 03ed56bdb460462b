import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import type { ChannelRow } from '../lib/training-form.js';

const DATA_TYPES = ['S3Prefix', 'ManifestFile', 'AugmentedManifestFile'];

/** The channels of a training job definition (training and tuning forms). */
export default function ChannelsEditor({
  channels,
  onChange,
  problems,
  showProblems,
}: {
  channels: ChannelRow[];
  onChange: (rows: ChannelRow[]) => void;
  problems: ReadonlyMap<number, string>;
  showProblems: boolean;
}) {
  const setChannels = onChange;
  const setCh = (i: number, patch: Partial<ChannelRow>) =>
    setChannels(channels.map((c, j) => (j === i ? { ...c, ...patch } : c)));
  const show = (p: string | undefined) => (showProblems ? p : undefined);
  const chProblems = problems;
  return (
    <AttributeEditor
      items={channels}
      addButtonText="Add channel"
      removeButtonText="Remove"
      empty="Add at least one channel."
      onAddButtonClick={() =>
        setChannels([
          ...channels,
          {
            name: '',
            dataType: 'S3Prefix',
            uri: '',
            contentType: '',
            attributeNames: '',
            recordWrapper: 'None',
          },
        ])
      }
      onRemoveButtonClick={(e) => setChannels(channels.filter((_, i) => i !== e.detail.itemIndex))}
      definition={[
        {
          label: 'Channel name',
          control: (c, i) => (
            <Input
              value={c.name}
              ariaLabel={`Channel ${i + 1} name`}
              onChange={(e) => setCh(i, { name: e.detail.value })}
            />
          ),
          errorText: (_c, i) => show(chProblems.get(i)),
        },
        {
          label: 'S3 data type',
          control: (c, i) => (
            <Select
              ariaLabel={`Channel ${i + 1} data type`}
              selectedOption={{ label: c.dataType, value: c.dataType }}
              options={DATA_TYPES.map((t) => ({ label: t, value: t }))}
              onChange={(e) => setCh(i, { dataType: e.detail.selectedOption.value! })}
            />
          ),
        },
        {
          label: 'S3 location',
          control: (c, i) => (
            <Input
              value={c.uri}
              ariaLabel={`Channel ${i + 1} S3 location`}
              placeholder="s3://bucket/train.manifest"
              onChange={(e) => setCh(i, { uri: e.detail.value })}
            />
          ),
        },
        {
          label: 'Content type',
          control: (c, i) => (
            <Input
              value={c.contentType}
              ariaLabel={`Channel ${i + 1} content type`}
              onChange={(e) => setCh(i, { contentType: e.detail.value })}
            />
          ),
        },
        {
          label: 'Attribute names',
          control: (c, i) => (
            <Input
              value={c.attributeNames}
              disabled={c.dataType !== 'AugmentedManifestFile'}
              ariaLabel={`Channel ${i + 1} attribute names`}
              placeholder="source-ref,bounding-box"
              onChange={(e) => setCh(i, { attributeNames: e.detail.value })}
            />
          ),
        },
        {
          label: 'Record wrapper',
          control: (c, i) => (
            <Select
              ariaLabel={`Channel ${i + 1} record wrapper`}
              selectedOption={{ label: c.recordWrapper, value: c.recordWrapper }}
              options={['None', 'RecordIO'].map((t) => ({ label: t, value: t }))}
              onChange={(e) =>
                setCh(i, { recordWrapper: e.detail.selectedOption.value as 'None' | 'RecordIO' })
              }
            />
          ),
        },
      ]}
    />
  );
}
